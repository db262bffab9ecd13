"""Decide which runs train on identical inputs and so share one training (the training_plan checkpoint).

Runs of one study whose settings, seed, training and validation data agree have one training digest;
the first of them to hold it finished (else the first by run id) trains, the others link its result.
"""

import json
from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.training import accepted_digests, finished_training, is_same_training, plan_trainings, run_digest, train_kwargs


def run(smk):
    runs, classes = smk.params.runs, smk.params.classes
    digests = {
        rid: run_digest(r["dataset_dir"], classes, r["training"], r["seed"], r["weights"]) for rid, r in sorted(runs.items())
    }

    def finished_digest(rid):
        """The digest of the training finished in a run's state folder, in the current scheme."""
        r = runs[rid]
        record = finished_training(Path(r["state_dir"]))
        if record is None:
            return None
        kwargs = train_kwargs(r["dataset_dir"], r["state_dir"], classes, r["training"], r["seed"], "")
        weights = None if r["weights"] is None else str(Path(r["weights"]))
        previous = accepted_digests(kwargs, r["training"], weights, r["dataset_dir"])
        return digests[rid] if is_same_training(record, digests[rid], previous) else record.get("digest")

    plan = plan_trainings(digests, finished_digest)
    Path(smk.output[0]).write_text(json.dumps(plan, indent=1, sort_keys=True) + "\n")
    shared = {rid: p["shares_training_of"] for rid, p in plan.items() if p["shares_training_of"]}
    log(f"{len(plan)} run(s), {len(set(digests.values()))} distinct training(s)")
    for rid, source in sorted(shared.items()):
        log(f"run {rid} has the same training inputs as run {source}: it links that training")


snakemake_only(globals(), run)
