#!/usr/bin/python3
"""The PyTorch peer of `tpc run examples/mup_tanh.tp`: the same training written as a researcher would.

Network (examples/mup_tanh.tp): input 2 -> n -> n -> 1, tanh, no biases, in the maximal-update
parametrization (muP, TP4 = Yang & Hu 2021, Sec. 5; abc form of TP4 Sec. 3):
    W^l = n^{-a_l} w^l,  w^l_{ab} ~ N(0, n^{-2 b_l}),  a = (-1/2, 0, 1/2),  b = (1/2, 1/2, 1/2),  c = 0,
    h1 = W1 xi,  x1 = tanh(h1),  h2 = W2 x1,  x2 = tanh(h2),  f = W3 x2,
loss 1/2 mean_i (f(xi_i) - y_i)^2 over the 4 training points, full-batch SGD on the w's with learning rate
0.5 n^{-c} for 3 steps; f is recorded at the 4 training and 2 evaluation points before each step and after
the last (t = 0..3), in the order of tpc's outputs f_t{t}_train{i}, f_t{t}_eval{j}.

float64 throughout, torch.set_num_threads(THREADS) (default 2), autograd for the gradients. Seeds run one
after the other (intra-op threads use the cores).

  --init DIR: instead of sampling, read the initial values tpc wrote with `tpc run --save-init DIR`
  (DIR/seed{k}_u1.npy, u2, v1: N(0, 1) vectors; DIR/seed{k}_M2.npy: W^2_0, entries N(0, 1/n)); tpc's
  unrolled program (tp/unroll.h) uses W^1_0 = [u1 u2], W^2_0 = M2, W^3_0 = v1^T / n, i.e. w1 = [u1 u2] / sqrt(n),
  w2 = M2, w3 = v1^T / sqrt(n). Same initial weights give the same outputs up to rounding.

Prints JSON: {"width", "seeds", "outputs": [{"name", "per_seed"}]}.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

X_TRAIN = [[1, 0], [0, 1], [0.5, 0.5], [-1, 0.5]]
Y_TRAIN = [1, -1, 0.5, 0]
X_EVAL = [[0.2, -0.3], [1, 1]]
LR, STEPS = 0.5, 3
A = (-0.5, 0.0, 0.5)
B = (0.5, 0.5, 0.5)
C = 0.0


def initial_weights(n, seed, init_dir):
    dt = torch.float64
    if init_dir is None:
        torch.manual_seed(seed)
        w1 = torch.randn(n, 2, dtype=dt) * n ** -B[0]
        w2 = torch.randn(n, n, dtype=dt) * n ** -B[1]
        w3 = torch.randn(1, n, dtype=dt) * n ** -B[2]
        return w1, w2, w3
    load = lambda name: torch.from_numpy(np.load(os.path.join(init_dir, "seed%d_%s.npy" % (seed, name))))
    u1, u2, v1, m2 = load("u1"), load("u2"), load("v1"), load("M2")
    if m2.shape != (n, n):
        sys.exit("error: %s holds width %d, not %d" % (init_dir, m2.shape[0], n))
    w1 = torch.stack([u1.reshape(n), u2.reshape(n)], dim=1) / math.sqrt(n)
    w3 = v1.reshape(1, n) / math.sqrt(n)
    return w1, m2.contiguous(), w3


def train(n, seed, init_dir):
    """f at all 6 points for t = 0..STEPS, flattened step-major."""
    mult = [n ** -a for a in A]
    lr = LR * n ** -C
    ws = [w.requires_grad_() for w in initial_weights(n, seed, init_dir)]
    xi = torch.tensor(X_TRAIN + X_EVAL, dtype=torch.float64).T  # 2 x 6
    y = torch.tensor(Y_TRAIN, dtype=torch.float64)
    m = len(Y_TRAIN)
    out = []
    for t in range(STEPS + 1):
        h = xi
        for l in range(2):
            h = torch.tanh(mult[l] * (ws[l] @ h))
        f = (mult[2] * (ws[2] @ h)).reshape(-1)
        out.extend(f.detach().tolist())
        if t == STEPS:
            break
        loss = 0.5 * ((f[:m] - y) ** 2).mean()
        grads = torch.autograd.grad(loss, ws)
        with torch.no_grad():
            for w, g in zip(ws, grads):
                w -= lr * g
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--seed-base", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", default=None, help="directory written by `tpc run --save-init`")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seeds = list(range(args.seed_base, args.seed_base + args.seeds))
    runs = [train(args.width, s, args.init) for s in seeds]
    names = ["f_t%d_%s" % (t, p) for t in range(STEPS + 1)
             for p in ["train%d" % (i + 1) for i in range(len(X_TRAIN))] + ["eval%d" % (j + 1) for j in range(len(X_EVAL))]]
    outs = [{"name": nm, "per_seed": [r[k] for r in runs]} for k, nm in enumerate(names)]
    json.dump({"width": args.width, "seeds": seeds, "outputs": outs}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
