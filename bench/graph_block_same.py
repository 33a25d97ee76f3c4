"""Do tpc's finite-width graph trainer and the PyTorch peer (bench/graph_block_torch.py) compute the same
thing? They draw their weights from different generators, so the check is statistical: the same block
(µP + Adam, TP5 Table 3; S = 8, 8 examples, 4 heads, causal 1/d attention with a zero query, relu MLP with a
bias, last-position readout, mse, 3 Adam steps; the mup preset starts norm gains at 1 and norm biases at 0
as the peer does; the peer's MLP bias starts at 0, hence `tensor "bias.b" std 0`) on the same inputs,
written as a tpc script, trained by
`tpc coordcheck` over SEEDS seeds and by PyTorch over SEEDS seeds; per node and step, the RMS over seeds of
mup's l1 size of x_t and of x_t − x_0, compared with z = difference / (√2 · the peer's standard error).
Usage (repository root, after building tpc): /usr/bin/python3 bench/graph_block_same.py [WIDTH] [SEEDS]"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from graph_block_torch import run  # noqa: E402

torch.set_default_dtype(torch.float64)
NODES = ["e", "layernorm", "attention", "r1", "layernorm_2", "dense", "bias", "activation", "dense_2", "add",
         "readout"]  # tpc's names, in the peer's order of vals


def script(x, y):
    xs = ",\n       ".join("[" + ", ".join(repr(float(v)) for v in r) + "]" for r in x.reshape(-1, 3))
    ys = ", ".join(repr(float(v)) for v in y[:, 0])
    return ("network graph {\n  input 3 positions 8\n  embedding n as e\n  layernorm\n"
            "  attention heads 4 logit (1/d) causal zero_query\n  add e as r1\n  layernorm\n  dense n\n  bias\n"
            "  activation relu\n  dense n\n  add r1\n  readout 1 pool last\n}\n"
            "parametrization mup form table3 { tensor \"bias.b\" std 0 }\noptimizer adam lr 0.01\n"
            f"data {{\n  x = [{xs}]\n  y = [{ys}]\n}}\ntrain steps 3\n")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    x = torch.randn(8, 8, 3, generator=torch.Generator().manual_seed(5))
    y = torch.sin(x[:, -1, :].sum(-1, keepdim=True))
    with tempfile.NamedTemporaryFile("w", suffix=".tp", delete=False) as f:
        f.write(script(x, y))
        path = f.name
    try:  # a second width only because a fit needs two; the comparison uses width n
        out = subprocess.run(["build/tpc", "coordcheck", path, "--widths", f"{n},{2 * n}", "--seeds", str(seeds),
                              "--format", "json"], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    tpc = {(r["node"], r["step"], r["delta"]): r["size_by_width"][0] for r in json.loads(out)["rows"]}
    runs = [run(n, s, x=x) for s in range(seeds)]
    worst, count = 0.0, 0
    print(f"width {n}, {seeds} seeds each; size = RMS over seeds of mean |coordinate|")
    print(f"{'quantity':16} t  {'tpc':>10} {'PyTorch':>10} {'s.e.':>9}  z")
    for t in range(4):
        for q, name in enumerate(NODES * 2):
            delta = q >= len(NODES)
            if delta and t == 0:
                continue
            v = [r[t][q] for r in runs]
            ms = sum(u * u for u in v) / seeds
            rms = math.sqrt(ms)
            se = math.sqrt(sum((u * u - ms) ** 2 for u in v) / (seeds - 1) / seeds) / (2 * rms)  # delta method
            mine = tpc[(name, t, delta)]
            z = (mine - rms) / (math.sqrt(2) * se) if se > 0 else 0.0
            worst, count = max(worst, abs(z)), count + 1
            print(f"{('Δ' if delta else '') + name:16} {t}  {mine:10.5g} {rms:10.5g} {se:9.2g}  {z:+.2f}")
    print(f"{count} sizes compared; largest |z| = {worst:.2f}")


if __name__ == "__main__":
    main()
