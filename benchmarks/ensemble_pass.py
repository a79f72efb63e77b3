"""Ensemble members: separate modules (what `--ensemble K` runs) against two ways of one batched pass.

Training steps (Adam, MSE) of K SegRNN-shaped Elman members on random data, one thread, on the CPU
(or on a CUDA GPU with --device cuda):
- separate: K modules, each a segment embedding, nn.RNN and Linear head (as rnncast's `Network`);
- masked:   the K as one nn.RNN of K·hidden units whose weights are masked block-diagonal;
- bmm:      the K as one hand-written Elman recurrence, batched matmuls over the member axis.
Prints seconds per 100 steps and each ratio to one member. Not part of `make test`; see
docs/performance.md ("Ensemble members").

    .venv/bin/python benchmarks/ensemble_pass.py [--members 5] [--device cuda] [--batch 1024]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

B, L, F, H, W, OUT, STEPS = 64, 96, 1, 64, 12, 96, 100  # batch, window, inputs, hidden, segment, horizon


class Member(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.rnn, self.head = nn.Linear(W * F, H), nn.RNN(H, H, batch_first=True), nn.Linear(H, OUT)

    def forward(self, x):
        segments = torch.relu(self.embed(x.reshape(x.shape[0], L // W, W * F)))  # (B, L/W, H)
        out, _ = self.rnn(segments)
        return self.head(out[:, -1])  # (B, OUT)


class Separate(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.members = nn.ModuleList(Member() for _ in range(k))

    def forward(self, x):
        return torch.stack([m(x) for m in self.members], 1)  # (B, K, OUT)


class Masked(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.k = k
        self.embed, self.rnn = nn.Linear(W * F, k * H), nn.RNN(k * H, k * H, batch_first=True)
        self.head_w, self.head_b = nn.Parameter(torch.randn(k, H, OUT) * 0.1), nn.Parameter(torch.zeros(k, OUT))
        self.register_buffer("mask", torch.block_diag(*[torch.ones(H, H)] * k))

    def forward(self, x):
        segments = torch.relu(self.embed(x.reshape(x.shape[0], L // W, W * F)))
        r = self.rnn
        weights = [r.weight_ih_l0 * self.mask, r.weight_hh_l0 * self.mask, r.bias_ih_l0, r.bias_hh_l0]
        h0 = x.new_zeros(1, x.shape[0], self.k * H)
        out, _ = torch._VF.rnn_tanh(segments, h0, weights, True, 1, 0.0, True, False, True)
        last = out[:, -1].view(x.shape[0], self.k, H)
        return torch.einsum("bkh,kho->bko", last, self.head_w) + self.head_b


class Batched(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.k = k
        self.embed_w, self.embed_b = nn.Parameter(torch.randn(k, W * F, H) * 0.3), nn.Parameter(torch.zeros(k, 1, H))
        self.w_ih, self.w_hh = nn.Parameter(torch.randn(k, H, H) * 0.1), nn.Parameter(torch.randn(k, H, H) * 0.1)
        self.b = nn.Parameter(torch.zeros(k, 1, H))
        self.head_w, self.head_b = nn.Parameter(torch.randn(k, H, OUT) * 0.1), nn.Parameter(torch.zeros(k, 1, OUT))

    def forward(self, x):
        b = x.shape[0]
        segments = x.reshape(1, b * (L // W), W * F).expand(self.k, -1, -1)
        embedded = torch.relu(torch.baddbmm(self.embed_b, segments, self.embed_w)).view(self.k, b, L // W, H)
        inputs = torch.matmul(embedded, self.w_ih[:, None]) + self.b[:, None]  # (K, B, L/W, H)
        h = x.new_zeros(self.k, b, H)
        for t in range(L // W):  # h_t = tanh(W_xh x_t + W_hh h_{t-1} + b), every member at once
            h = torch.tanh(inputs[:, :, t] + torch.bmm(h, self.w_hh))
        return torch.baddbmm(self.head_b, h, self.head_w).transpose(0, 1)  # (B, K, OUT)


def seconds(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.to(x.device)
    opt = torch.optim.Adam(model.parameters())
    sync = torch.cuda.synchronize if x.device.type == "cuda" else (lambda: None)

    def step():
        opt.zero_grad()
        out = model(x)
        ((out - (y if out.dim() == 2 else y[:, None])) ** 2).mean().backward()
        opt.step()

    for _ in range(5):  # warm-up
        step()
    sync()
    start = time.perf_counter()
    for _ in range(STEPS):
        step()
    sync()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--batch", type=int, default=B)
    args = ap.parse_args()
    k, device = args.members, torch.device(args.device)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, y = torch.randn(args.batch, L, F, device=device), torch.randn(args.batch, OUT, device=device)
    one = seconds(Member(), x, y)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "1 thread"
    print(f"{STEPS} steps, batch {args.batch}, window {L} in {W}-point segments, hidden {H}, horizon {OUT}, {where}")
    print(f"one member: {one:.3f} s")
    for name, model in (("separate", Separate(k)), ("masked", Masked(k)), ("bmm", Batched(k))):
        s = seconds(model, x, y)
        print(f"{k} members, {name}: {s:.3f} s ({s / one:.2f}x one member)")


if __name__ == "__main__":
    main()
