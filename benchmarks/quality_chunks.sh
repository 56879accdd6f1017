#!/usr/bin/env bash
# Run the quality grid in chunks of at most BUDGET seconds, each holding the shared heavy-job lock, until the plan
# is done (or CHUNKS chunks ran). Extra arguments go to benchmarks.quality (e.g. --only k=16).
#   benchmarks/quality_chunks.sh                 # the whole offline grid, in priority order
#   CHUNKS=3 benchmarks/quality_chunks.sh --only k=16
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CHUNKS=${CHUNKS:-1000}
BUDGET=${BUDGET:-540}
PAUSE=${PAUSE:-20}      # seconds between chunks, so other jobs waiting on the lock get their turn
LOCK=${LOCK:-/tmp/mpt_heavy.lock}
for _ in $(seq 1 "$CHUNKS"); do
    plan=$("$PY" -m benchmarks.quality --dry-run --quiet "$@")
    [[ $plan =~ ([0-9]+)\ to\ go ]] || { echo "could not read the plan: $plan"; exit 1; }
    left=${BASH_REMATCH[1]}
    if [ "$left" = "0" ]; then
        echo "quality grid complete"
        break
    fi
    echo "=== $(date +%H:%M:%S) chunk: $left run(s) to go"
    flock "$LOCK" "$PY" -m benchmarks.quality --time-budget "$BUDGET" "$@"
    sleep "$PAUSE"
done
