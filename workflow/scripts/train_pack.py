"""Train a pack of runs side by side on one GPU, then evaluate and infer each (a train_<pack> rule,
gpu_allocation.runs_per_gpu > 1; detexp.packing)."""

import json
from pathlib import Path

from detexp import layout
from detexp.cli import log, snakemake_only
from detexp.packing import run_pack


def run(smk):
    members = smk.params.members
    plan = json.loads(Path(smk.input.plan).read_text())
    for i, (run_id, member) in enumerate(members.items()):
        # the run whose finished training this one links: named by an input, or a pack-mate the plan names
        shared = smk.input.get(f"shared_training_{i}")
        source = plan.get(run_id, {}).get("shares_training_of")
        if shared:
            member["train"]["same_as"] = layout.run_of(shared, layout.TRAINING_SUMMARY)
        elif source in members and source != run_id:
            member["train"]["same_as"] = source
    # the job's CPUs shared out (Snakemake may have given it fewer than it asked for, on a workstation):
    # a process per run with all of them each would oversubscribe the cores many times over
    run_pack(members, max(1, smk.threads // len(members)), log)


snakemake_only(globals(), run)
