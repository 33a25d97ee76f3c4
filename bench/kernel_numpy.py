#!/usr/bin/python3
"""The numpy peer of `tpc kernel` (bench/kernel_vs_numpy.sh): NNGP and NTK of an MLP in the NTK
parametrization, written as a researcher would, vectorized with numpy, output with np.savez.

usage: kernel_numpy.py relu  INPUTS.csv DEPTH SW2 SB2 OUT.npz
       kernel_numpy.py tanh  INPUTS.csv DEPTH SW2 SB2 OUT.npz H
  relu: the arc-cosine closed form (Cho & Saul 2009; Arora et al. 2019 eqs. 9-11) on whole N x N matrices.
  tanh: the same quadrature rule as tpc (a 2-D trapezoidal rule of spacing H in the whitened variables,
        u = sqrt(a) x1, v = (c/sqrt(a)) x1 + sqrt(b - c^2/a) x2, nodes with product weight >= 1e-25),
        with the same savings tpc makes: the u-part phi(sqrt(K_ii) x1) once per input, odd tanh -> only
        the half plane x1 >= 0 at double weight, pairs i <= j only; vectorized over j and the nodes.
        The diagonal is a 1-D rule of the same spacing.
"""
import math
import sys

import numpy as np


def relu_kernels(K, depth, sw2, sb2):
    T = K.copy()
    for _ in range(depth):
        d = np.sqrt(np.diag(K))
        norm = np.outer(d, d)
        rho = np.clip(K / norm, -1.0, 1.0)
        theta = np.arccos(rho)
        # K' = sw2/(2 pi) sqrt(K11 K22) (sin t + (pi - t) cos t) + sb2 ; T' = K' + sw2 T (pi - t)/(2 pi)
        K = sw2 / (2 * math.pi) * norm * (np.sin(theta) + (math.pi - theta) * rho) + sb2
        T *= sw2 * (math.pi - theta) / (2 * math.pi)
        T += K
        del d, norm, rho, theta
    return K, T


def trapezoid(h):
    j = np.arange(-int(12 / h) - 1, int(12 / h) + 2)
    x = j * h
    return x, h * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def tanh_kernels(K, depth, sw2, sb2, h):
    x, w = trapezoid(h)
    wmax = w.max()
    rows = (w * wmax >= 1e-25) & (x >= 0)               # outer nodes x1 >= 0 (tanh is odd)
    xp, wp = x[rows], w[rows]
    keep = wp[:, None] * w[None, :] >= 1e-25              # product weights >= 1e-25 (a disc of radius ~10.6)
    P, Q = np.nonzero(keep)
    px, qx = xp[P], x[Q]
    wpq = np.where(px > 0, 2.0, 1.0) * wp[P] * w[Q]       # x1 > 0 stands for its mirror image too
    x1, w1 = x, w                                         # 1-D rule for the diagonal
    T = K.copy()
    n = K.shape[0]
    for _ in range(depth):
        diag = np.diag(K).copy()
        Kn = np.empty_like(K)
        Tn = np.empty_like(T)
        # diagonal: E tanh(u)^2, E tanh'(u)^2, u ~ N(0, K_ii)
        f = np.tanh(np.sqrt(diag)[:, None] * x1[None, :])
        Kn[np.arange(n), np.arange(n)] = sw2 * (f * f) @ w1 + sb2
        dd = (1 - f * f) ** 2 @ w1
        Tn[np.arange(n), np.arange(n)] = Kn[np.arange(n), np.arange(n)] + sw2 * dd * np.diag(T)
        fu = np.tanh(np.sqrt(diag)[:, None] * px[None, :])   # the u-part per input: N x nodes
        gu = 1 - fu * fu
        for i in range(n - 1):
            j = np.arange(i + 1, n)
            sa = math.sqrt(diag[i])
            alpha = K[i, j] / sa
            s = np.sqrt(np.maximum(diag[j] - alpha * alpha, 0.0))
            fv = np.tanh(alpha[:, None] * px[None, :] + s[:, None] * qx[None, :])
            gv = 1 - fv * fv
            ephi = (fu[i] * fv) @ wpq
            edphi = (gu[i] * gv) @ wpq
            Kn[i, j] = sw2 * ephi + sb2
            Tn[i, j] = Kn[i, j] + sw2 * edphi * T[i, j]
            Kn[j, i] = Kn[i, j]
            Tn[j, i] = Tn[i, j]
        K, T = Kn, Tn
    return K, T


def main():
    mode, path, depth, sw2, sb2, out = sys.argv[1:7]
    depth, sw2, sb2 = int(depth), float(sw2), float(sb2)
    X = np.loadtxt(path, delimiter=",", ndmin=2)
    K = sw2 * (X @ X.T) / X.shape[1] + sb2
    if mode == "relu":
        K, T = relu_kernels(K, depth, sw2, sb2)
    else:
        K, T = tanh_kernels(K, depth, sw2, sb2, float(sys.argv[7]))
    np.savez(out, nngp=K, ntk=T)


if __name__ == "__main__":
    main()
