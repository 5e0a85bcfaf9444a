#!/usr/bin/env bash
# Grouping accuracy on Loghub samples: anomaly-classifier templates vs Drain3.
# Creates a venv under .cache/ from the pinned requirements.txt (never system-wide).
# Usage: scripts/loghub-ga/run.sh [LOGHUB_DIR]   (default /work/shared/data/loghub)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:-${LOGHUB_DIR:-/work/shared/data/loghub}}
venv="$root/.cache/loghub-ga-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q -r "$root/scripts/loghub-ga/requirements.txt"
bin="$root/.cache/anomaly-classifier"
(cd "$root/services/anomaly-classifier" && go build -o "$bin" ./cmd/anomaly-classifier)
"$venv/bin/python" "$root/scripts/loghub-ga/loghub_ga.py" "$bin" "$data"
