#!/usr/bin/env bash
# Create .venv/ in the repository root with everything the workflow and its tests need.
# Idempotent: a complete .venv/ (marked by .venv/.complete, matching requirements.txt) is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=".venv/.complete"
want="$(sha256sum requirements.txt scripts/setup.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# torch from its own line first: the pinned build is the one pip finds on the cluster/CI machines.
.venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
.venv/bin/pip install -q -r requirements.txt
echo "$want" > "$stamp"
echo "set up .venv/"
