#!/usr/bin/env bash
# Set up .venv/ if needed and run the whole workflow on the bundled synthetic demo project (CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/snakemake --configfile config/demo.yaml --cores "${CORES:-all}" "$@"
echo
cat results/comparison.md
