#!/usr/bin/env bash
# `make demo` from the shipped source stages against the same demo training its sources (--retrain-sources), back to
# back under one hold of the heavy-job lock, in the order shipped, retrain, shipped: the host's speed drifts, and the
# second shipped run shows by how much. Each arm writes to a fresh folder (so the retrain arm cannot find stages a
# previous demo trained) and its process wall time goes to results/demo_time.txt (target: shipped <= 0.5 x retrain).
#   benchmarks/demo_time.sh            # ~1 h on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOCK=${LOCK:-/tmp/mpt_heavy.lock}
PROFILE=${PROFILE:-offline}
OUT=${OUT:-results/demo_time.txt}
WORK=${WORK:-outputs/demo_time}
export MPT_NB_PROGRESS=0

mkdir -p "$WORK"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- mpt_nb || echo +dirty)  # the code the arms run
exec 9>"$LOCK"
flock 9
declare -A wall
for arm in shipped-1 retrain shipped-2; do
    folder="$WORK/$arm"
    rm -rf "$folder"
    flags=()
    [ "$arm" = retrain ] && flags=(--retrain-sources)
    begin=$(date +%s)
    "$PY" -m mpt_nb demo --profile "$PROFILE" --out "$folder" "${flags[@]}" > "$WORK-$arm.log" 2>&1
    wall[$arm]=$(( $(date +%s) - begin ))
    echo "$arm: ${wall[$arm]} s"
done
flock -u 9
{
    echo "# make demo: shipped source stages vs --retrain-sources (benchmarks/demo_time.sh)"
    echo "measured $(date -u +%Y-%m-%d), commit $commit, $(nproc) CPU cores (shared host)"
    echo "shipped (first run)   ${wall[shipped-1]} s"
    echo "retrain sources       ${wall[retrain]} s"
    echo "shipped (second run)  ${wall[shipped-2]} s"
    awk -v a="${wall[shipped-1]}" -v b="${wall[shipped-2]}" -v r="${wall[retrain]}" \
        'BEGIN { printf "ratio shipped / retrain: %.2f (mean of the two shipped runs; target <= 0.5)\n", (a + b) / 2 / r }'
    echo
    for arm in shipped-1 retrain; do
        echo "## $arm: when each stage began (seconds since the demo started)"
        grep -E '^\[ *[0-9]+s\]|^source stages|validation|^wall time' "$WORK-$arm.log" || true
        echo
    done
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
