#!/usr/bin/env bash
# Regenerate the committed outputs of the notebooks from one real run of one named profile (default: offline), in
# course order, each notebook executed top to bottom in a fresh kernel and written back to both files of its pair;
# then regenerate the exercise copies (which carry no outputs). Each notebook holds the shared heavy-job lock while
# it runs, so timings are not disturbed by other heavy jobs; its wall time (kernel start included) is printed.
#
#   tools/run_notebooks.sh                                  # all six, offline profile (about 30 min on 2 CPU cores: docs/course_map.md)
#   tools/run_notebooks.sh notebooks/04_target_adaptation.ipynb   # one notebook
#   MPT_NB_PROFILE=smoke tools/run_notebooks.sh             # a quick look at the smoke outputs (do not commit those)
#
# Start from a clean slate (rm -rf outputs/notebooks) to reproduce the committed run exactly: notebooks 04-06 load the
# prompts notebooks 02-03 saved under outputs/notebooks/artefacts, and 06 reads the records 04-05 wrote for the same
# profile under outputs/notebooks/<profile>/ (or the profile's committed grid, mpt_nb.course.benchmark_results_path,
# once it has full-data runs).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${MPT_NB_PROFILE:-offline}
PY=${PY:-.venv/bin/python}
LOCK=${LOCK:-/tmp/mpt_heavy.lock}
TIMES=${TIMES:-outputs/notebooks/run_times_${PROFILE}.txt}
# No progress bars in the saved run (mpt_nb's one switch, which also silences the datasets and transformers bars),
# so the committed files carry results rather than dozens of finished progress widgets. Interactive runs keep them.
export MPT_NB_PROGRESS=0 HF_DATASETS_DISABLE_PROGRESS_BARS=1
if [ "$#" -gt 0 ]; then notebooks=("$@"); else notebooks=(notebooks/[0-9][0-9]_*.ipynb); fi
mkdir -p "$(dirname "$TIMES")"
# Each runs with tools/execute_notebook.py (nbclient, in a fresh kernel whose working directory is notebooks/; it
# works around an nbclient wait that could stall widget cells), then the .py pair is refreshed with jupytext.
for nb in "${notebooks[@]}"; do
    flock "$LOCK" bash -c '
        set -euo pipefail
        start=$(date +%s)
        MPT_NB_PROFILE="$1" "$2" tools/execute_notebook.py "$3"
        "$2" -m jupytext --sync "$3" >/dev/null
        echo "$3: $(( $(date +%s) - start )) s (profile $1, $(date -u +%FT%TZ))" | tee -a "$4"
    ' _ "$PROFILE" "$PY" "$nb" "$TIMES"
done
"$PY" tools/make_exercises.py
"$PY" tools/check_notebooks.py
