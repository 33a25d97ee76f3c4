#!/usr/bin/env bash
# Installs what the side-by-side benchmark scripts in bench/ need beyond scripts/install-deps.sh: Debian's
# numpy and PyTorch for /usr/bin/python3 (bench/kernel_vs_numpy.sh, finite_vs_torch.sh, graph_vs_torch.sh). Idempotent.
set -euo pipefail
exec "$(dirname "$0")/install-deps.sh" --bench
