#!/usr/bin/env bash
# The nine speed ratios on the offline default (SmolLM2-135M) and a T5-Small-shaped T5, printed and saved to
# results/speed_offline.txt. Each (benchmark, backbone) pair takes the shared heavy-job lock on its own (1-8 min),
# so other jobs get turns in between; its output is kept in outputs/speed/<bench>-<backbone>.txt and the results
# file is the concatenation of those pieces, so a piece can be re-measured alone:
#   benchmarks/run_all.sh                                  # everything, real models -> results/speed_offline.txt
#   BENCHES="step" BACKBONES="t5" benchmarks/run_all.sh    # re-measure one piece, rebuild the results file
#   benchmarks/run_all.sh --smoke                          # tiny random models, seconds -> outputs/speed_smoke.txt
# A profile of [5] is measured apart and kept beside its piece (it is joined into the results file after it):
#   .venv/bin/python -m benchmarks.speed eval --backbone smollm2 --profile --eval-rows 96 --eval-reps 1 \
#       > outputs/speed/eval-smollm2.profile.txt
# Extra arguments go to every benchmark (e.g. --threads 1).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOCK=${LOCK:-/tmp/mpt_heavy.lock}
BENCHES=${BENCHES:-step peft distill epoch eval groups prefix workers run}
BACKBONES=${BACKBONES:-smollm2 t5}
OUT=${OUT:-results/speed_offline.txt}
PIECES=${PIECES:-outputs/speed}
case " $* " in *" --smoke "*) OUT=${SMOKE_OUT:-outputs/speed_smoke.txt}; PIECES=outputs/speed_smoke ;; esac
mkdir -p "$(dirname "$OUT")" "$PIECES"
for bench in $BENCHES; do
    for backbone in $BACKBONES; do
        piece="$PIECES/$bench-$backbone.txt"
        flock "$LOCK" "$PY" -W ignore -m benchmarks.speed "$bench" --backbone "$backbone" "$@" 2>&1 \
            | tee "$piece.tmp"
        mv "$piece.tmp" "$piece"
    done
done
: > "$OUT.tmp"
for bench in step peft distill epoch eval groups prefix; do
    for backbone in smollm2 t5; do
        piece="$PIECES/$bench-$backbone.txt"
        # <bench>-<backbone>.profile.txt: a separate --profile run of that piece (e.g. eval --profile --eval-rows 96)
        for part in "$piece" "$PIECES/$bench-$backbone.profile.txt"; do
            if [ -f "$part" ]; then cat "$part" >> "$OUT.tmp"; echo >> "$OUT.tmp"; fi
        done
    done
done
mv "$OUT.tmp" "$OUT"
echo "saved to $OUT"
