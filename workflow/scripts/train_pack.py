"""Train a pack of runs side by side on one GPU, then evaluate and infer each (a train_<pack> rule,
gpu_allocation.runs_per_gpu > 1; detexp.packing)."""

from detexp import layout
from detexp.cli import log, snakemake_only
from detexp.packing import run_pack


def run(smk):
    members = smk.params.members
    for i, member in enumerate(members.values()):
        # the run whose finished training this one links, as the DAG was built (train.py's same_as):
        # another run's training summary, or a pack-mate's training split
        shared, mate = smk.input.get(f"shared_training_{i}"), smk.input.get(f"same_training_as_{i}")
        if shared:
            member["train"]["same_as"] = layout.run_of(shared, layout.TRAINING_SUMMARY)
        elif mate:
            member["train"]["same_as"] = layout.run_of(mate, layout.DATASET_SPLIT_ANNOTATIONS)
    # the job's CPUs shared out (Snakemake may have given it fewer than it asked for, on a workstation):
    # a process per run with all of them each would oversubscribe the cores many times over
    run_pack(members, max(1, smk.threads // len(members)), log)


snakemake_only(globals(), run)
