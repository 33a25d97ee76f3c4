"""PyTorch peer of bench/bench_graph_train.cpp's block (limits/graph_builders.h): the same pre-LN
Transformer block under µP + Adam (TP5 Table 3), float64, S = 8 positions, 8 examples, 4 heads, causal 1/d
attention with a zero-initialized query, relu MLP with a bias, last-position readout, mse, full batch,
3 Adam steps, and per step the mean |coordinate| of every node (the coordinate check's measurement).
Same work as tpc's trainer except the top singular values (compare with the no-singular-values case).
Usage: /usr/bin/python3 bench/graph_block_torch.py WIDTH RUNS THREADS [X.csv]
With X.csv (the 64 x 3 inputs, rows = example-major positions) it prints, per step, the mean over runs of
every node's size, then every node's change x_t − x_0, and their standard errors (the statistical cross-check against tpc's trainer)."""
import math
import sys

import torch

torch.set_default_dtype(torch.float64)


def run(n, seed, S=8, m=8, d=3, heads=4, steps=3, lr=0.01, x=None):
    g = torch.Generator().manual_seed(1000 + seed)
    if x is None:
        x = torch.randn(m, S, d, generator=torch.Generator().manual_seed(5))
    y = torch.sin(x[:, -1, :].sum(-1, keepdim=True))
    P = {}

    def param(name, shape, std, lr_mult, init=0.0):
        t = torch.full(shape, init) + (std * torch.randn(shape, generator=g) if std else 0.0)
        P[name] = (t.requires_grad_(), lr_mult)

    param("embed", (n, d), 1.0, 1.0)
    for ln in ("ln1", "ln2"):
        param(ln + ".gain", (n,), 0.0, 1.0, 1.0)
        param(ln + ".bias", (n,), 0.0, 1.0)
    param("q", (n, n), 0.0, 1.0 / n)
    for k in ("k", "v", "o", "fc1", "fc2"):
        param(k, (n, n), 1.0 / math.sqrt(n), 1.0 / n)
    param("fc1.bias", (n,), 0.0, 1.0)
    param("readout", (1, n), 1.0 / n, 1.0 / n)
    opt = torch.optim.Adam([{"params": [t], "lr": lr * mult} for t, mult in P.values()], betas=(0.9, 0.999), eps=1e-8)
    W = {k: t for k, (t, _) in P.items()}
    dh = n // heads
    mask = torch.triu(torch.ones(S, S, dtype=torch.bool), 1)
    sizes = []
    for t in range(steps + 1):
        vals = []
        e = x @ W["embed"].T
        vals.append(e)
        h = torch.nn.functional.layer_norm(e, (n,), W["ln1.gain"], W["ln1.bias"], 1e-5)
        vals.append(h)
        q = (h @ W["q"].T).view(m, S, heads, dh).transpose(1, 2)
        k = (h @ W["k"].T).view(m, S, heads, dh).transpose(1, 2)
        v = (h @ W["v"].T).view(m, S, heads, dh).transpose(1, 2)
        logits = (q @ k.transpose(-1, -2)) / dh
        logits = logits.masked_fill(mask, float("-inf"))
        o = (torch.softmax(logits, -1) @ v).transpose(1, 2).reshape(m, S, n) @ W["o"].T
        vals.append(o)
        r1 = e + o
        vals.append(r1)
        h2 = torch.nn.functional.layer_norm(r1, (n,), W["ln2.gain"], W["ln2.bias"], 1e-5)
        vals.append(h2)
        f1 = h2 @ W["fc1"].T
        vals.append(f1)
        b1 = f1 + W["fc1.bias"]
        vals.append(b1)
        a = torch.relu(b1)
        vals.append(a)
        f2 = a @ W["fc2"].T
        vals.append(f2)
        r2 = r1 + f2
        vals.append(r2)
        f = r2[:, -1, :] @ W["readout"].T
        vals.append(f)
        if t == 0:
            vals0 = [v.detach().clone() for v in vals]
        sizes.append([float(v.detach().abs().mean()) for v in vals] +
                     [float((v.detach() - v0).abs().mean()) for v, v0 in zip(vals, vals0)])
        if t == steps:
            break
        loss = 0.5 * ((f - y) ** 2).sum() / m
        opt.zero_grad()
        loss.backward()
        opt.step()
    return sizes


if __name__ == "__main__":
    n, runs, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    x = None
    if len(sys.argv) > 4:
        rows = [[float(v) for v in line.split(",")] for line in open(sys.argv[4]) if line.strip()]
        x = torch.tensor(rows).view(8, 8, 3)
    all_sizes = [run(n, s, x=x) for s in range(runs)]
    if x is None:
        print(all_sizes[-1][-1][-1])
    else:
        for t in range(len(all_sizes[0])):
            cells = []
            for q in range(len(all_sizes[0][t])):
                v = [a[t][q] for a in all_sizes]
                m = sum(v) / runs
                se = math.sqrt(sum((u - m) ** 2 for u in v) / (runs - 1) / runs)
                cells.append("%.5g±%.2g" % (m, se))
            print(" ".join(cells))
