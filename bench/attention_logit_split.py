"""Which part of an attention logit's first-step change survives at large width? A µP (TP5 Table 3) block:
one-hot inputs (3 positions of 4), embedding, layer norm (gain 1, bias 0), one head with 1/d logits, residual,
last-position readout, target -3, one step of SGD (lr 0.05: input-like lr x n, hidden x 1, output x 1/n) or
Adam-as-sign (lr 0.05, hidden and output x 1/n). The change of k = W_k h splits into W_k,0 (h_1 - h_0) and
(W_k,1 - W_k,0) h_1, that of q likewise; each part's inner product with q_0 (or k_0) over n is printed as the
mean of its square over seeds and keys, at n = 256, 1024, 4096, with the fitted exponent of |term|.
The measurement behind DESIGN.md "Phase of graph networks", known over-prediction (issue #14).
Usage: /usr/bin/python3 bench/attention_logit_split.py [sgd|adam] [SEEDS]   (about 4 minutes at 12 seeds)"""
import sys, math, torch
torch.set_default_dtype(torch.float64)
def run(n, seed, lr=0.05, opt="sgd"):
    g = torch.Generator().manual_seed(seed)
    x = torch.eye(4)[:3]                     # 3 positions, one-hot of 4
    P = {"emb": (torch.randn(n, 4, generator=g), n if opt == "sgd" else 1.0),
         "q": (torch.randn(n, n, generator=g) / math.sqrt(n), 1.0 if opt == "sgd" else 1.0 / n),
         "k": (torch.randn(n, n, generator=g) / math.sqrt(n), 1.0 if opt == "sgd" else 1.0 / n),
         "v": (torch.randn(n, n, generator=g) / math.sqrt(n), 1.0 if opt == "sgd" else 1.0 / n),
         "o": (torch.randn(n, n, generator=g) / math.sqrt(n), 1.0 if opt == "sgd" else 1.0 / n),
         "out": (torch.randn(n, generator=g) / n, 1.0 / n)}
    W = {k: v.clone().requires_grad_() for k, (v, _) in P.items()}
    def fwd(W):
        e = x @ W["emb"].T
        h = torch.nn.functional.layer_norm(e, (n,))
        q, k, v = h @ W["q"].T, h @ W["k"].T, h @ W["v"].T
        A = torch.softmax(q @ k.T / n, -1)
        r = e + (A @ v) @ W["o"].T
        return h, q, k, (r[-1] @ W["out"])
    h0, q0, k0, f0 = fwd(W)
    loss = 0.5 * (f0 + 3.0) ** 2
    loss.backward()
    with torch.no_grad():
        W1 = {}
        for key, (w0, mult) in P.items():
            gr = W[key].grad
            step = gr if opt == "sgd" else gr.sign()
            W1[key] = w0 - lr * mult * step
        h1, q1, k1, _ = fwd(W1)
        dh = h1 - h0
        s = -1  # the last query against every key
        parts = {
            "q0.W_k0 dh": (q0[s] @ (dh @ P["k"][0].T).T) / n,
            "q0.dW_k h1": (q0[s] @ (h1 @ (W1["k"] - P["k"][0]).T).T) / n,
            "W_q0 dh.k0": ((dh[s] @ P["q"][0].T) @ k0.T) / n,
            "dW_q h1.k0": ((h1[s] @ (W1["q"] - P["q"][0]).T) @ k0.T) / n,
            "dq.dk": ((q1[s] - q0[s]) @ (k1 - k0).T) / n,
            "total": (q1[s] @ k1.T - q0[s] @ k0.T) / n,
        }
        return {k: float((v ** 2).mean()) for k, v in parts.items()}
opt = sys.argv[1] if len(sys.argv) > 1 else "sgd"
seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 12
widths = [256, 1024, 4096]
res = {}
for n in widths:
    rs = [run(n, s, opt=opt) for s in range(seeds)]
    res[n] = {k: (sum(r[k] for r in rs) / seeds, math.sqrt(sum((r[k]) ** 2 for r in rs) / seeds - (sum(r[k] for r in rs) / seeds) ** 2) / math.sqrt(seeds)) for k in rs[0]}
print(f"{opt}, {seeds} seeds; mean over seeds and keys of (term)^2 (± s.e.); slope of sqrt vs n")
for k in res[widths[0]]:
    vals = [res[n][k][0] for n in widths]
    slope = 0.5 * math.log(vals[-1] / vals[0]) / math.log(widths[-1] / widths[0])
    print(f"{k:12}", "  ".join(f"{res[n][k][0]:.3g}±{res[n][k][1]:.1g}" for n in widths), f"  |term| ~ n^{slope:+.2f}")
