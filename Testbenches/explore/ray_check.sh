#!/usr/bin/env bash
# make bench-explore: Testbenches/explore/small.json through the local pool and through a local
# Ray cluster, each point's worker killed on its first attempt (SPINEL_EXPLORE_KILL_ONCE); the
# tables and every point file must be the same bytes.
set -euo pipefail
spinel=$1
out=$2
rm -rf "$out/local" "$out/ray" "$out/kills"
mkdir -p "$out/kills"
space=Testbenches/explore/small.json
start=$(date +%s)
"$spinel" explore --space $space --out "$out/local" --jobs 2
echo "local pool: $(( $(date +%s) - start )) s"
start=$(date +%s)
SPINEL_EXPLORE_KILL_ONCE="$out/kills/point" "$spinel" explore --space $space --out "$out/ray" --engine ray
echo "ray: $(( $(date +%s) - start )) s, workers killed: $(ls "$out/kills" | wc -l)"
[ "$(ls "$out/kills" | wc -l)" -gt 0 ] || { echo "bench-explore: no worker was killed"; exit 1; }
for file in results.csv results.json report.html; do
  cmp "$out/local/$file" "$out/ray/$file" || { echo "bench-explore: $file differs between the local pool and Ray"; exit 1; }
done
diff -r "$out/local/points" "$out/ray/points" || { echo "bench-explore: point files differ"; exit 1; }
echo "bench-explore: local pool and Ray give identical results ($(ls "$out/ray/points" | wc -l) point files), killed workers survived"
