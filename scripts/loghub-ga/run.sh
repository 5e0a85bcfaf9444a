#!/usr/bin/env bash
# Grouping accuracy on Loghub samples: anomaly-classifier templates vs Drain3.
# Creates a venv under .cache/ from the pinned requirements.txt (never system-wide).
# Usage: scripts/loghub-ga/run.sh [LOGHUB_DIR]
#   LOGHUB_DIR: Loghub's own layout (<sys>/<sys>_2k.log_structured.csv) or, by default, the
#   repository's copy of the 2k samples (services/anomaly-classifier/internal/template/testdata/loghub).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:-${LOGHUB_DIR:-$root/services/anomaly-classifier/internal/template/testdata/loghub}}
venv="$root/.cache/loghub-ga-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q -r "$root/scripts/loghub-ga/requirements.txt"
bin="$root/.cache/anomaly-classifier"
(cd "$root/services/anomaly-classifier" && go build -o "$bin" ./cmd/anomaly-classifier)
"$venv/bin/python" "$root/scripts/loghub-ga/loghub_ga.py" "$bin" "$data"
