#!/usr/bin/env bash
# Generates the default MAML dataset (an Omniglot-format dataset rendered from the Debian Noto fonts; see
# apps/maml/omniglot_render.h) with build/tpc, unless DIR/MANIFEST.txt exists and the image count on disk matches
# it. Idempotent; run by scripts/setup.sh after the build. Usage: scripts/data-maml.sh [DIR]  (default data/omniglot)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-data/omniglot}"
tpc=./build/tpc
if [ ! -x "$tpc" ]; then
  echo "data-maml: $tpc not found; build first: cmake -S . -B build && cmake --build build --target tpc" >&2
  exit 1
fi

count_images() { find "$1/images_background" "$1/images_evaluation" -type f -name '*.png' 2>/dev/null | wc -l; }
manifest_images() { awk '$1 == "total" { for (i = 1; i < NF; ++i) if ($i == "images") print $(i + 1) }' "$1/MANIFEST.txt"; }

if [ -f "$dir/MANIFEST.txt" ]; then
  expected="$(manifest_images "$dir")"
  found="$(count_images "$dir")"
  if [ -n "$expected" ] && [ "$found" -eq "$expected" ]; then
    echo "data-maml: $dir present ($found images, $(grep '^crc32' "$dir/MANIFEST.txt" | cut -d' ' -f1-2)); nothing to do"
    exit 0
  fi
  echo "data-maml: $dir has $found images but MANIFEST.txt lists ${expected:-none}; regenerating"
  force=--force
elif [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "data-maml: $dir exists without MANIFEST.txt (a real Omniglot copy?); leaving it alone" >&2
  echo "data-maml: move it away to generate the default dataset there, or pass another DIR" >&2
  exit 1
else
  force=
fi
echo "data-maml: generating the Omniglot-format dataset from the Noto fonts into $dir"
"$tpc" maml make-dataset --out "$dir" $force
expected="$(manifest_images "$dir")"
found="$(count_images "$dir")"
if [ "$found" -ne "$expected" ]; then
  echo "data-maml: $dir has $found images, MANIFEST.txt lists $expected" >&2
  exit 1
fi
echo "data-maml: verified $found images against $dir/MANIFEST.txt"
