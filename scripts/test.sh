#!/usr/bin/env bash
# Set up .venv/ if needed and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# -rs: the reason of every skip is printed (in CI a real component that cannot run fails instead).
# --durations: the slowest tests, to keep the suite within its time (README)
exec .venv/bin/python -m pytest -rs --durations=25 tests "$@"
