"""Decide which runs train on identical inputs and so share one training (the training_plan checkpoint).

Runs of one study whose training inputs agree in content (detexp.train.training_digest) have one training
digest; the first of them to hold it finished as its own (else the first by run id) trains, the others
link its result.
"""

import json
from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.content import CACHE_FILE, ContentHashes
from detexp.files import write_text_whole
from detexp.train.shared_training import finished_training, plan_trainings
from detexp.train.training import identify


def run(smk):
    runs, classes = smk.params.runs, smk.params.classes
    hashes = ContentHashes(Path(smk.params.study_dir) / CACHE_FILE)
    identities = {
        rid: identify(r["dataset_dir"], classes, r["training"], r["seed"], r["weights"], r["state_dir"], hashes)
        for rid, r in sorted(runs.items())
    }
    records = {rid: finished_training(Path(runs[rid]["state_dir"])) for rid in identities}

    def finished_digest(rid):
        """The digest of the training finished in a run's state folder, in the current scheme."""
        record = records[rid]
        if record is None:
            return None
        return identities[rid].digest if identities[rid].match(record) else record.get("digest")

    def links(rid):
        """Whether a run's finished training is a link to another run's."""
        return bool(records[rid] and records[rid]["summary"].get("same_training_as"))

    plan = plan_trainings({rid: i.digest for rid, i in identities.items()}, finished_digest, links)
    write_text_whole(smk.output[0], json.dumps(plan, indent=1, sort_keys=True) + "\n")
    shared = {rid: p["shares_training_of"] for rid, p in plan.items() if p["shares_training_of"]}
    log(f"{len(plan)} run(s), {len(set(p['digest'] for p in plan.values()))} distinct training(s)")
    for rid, source in sorted(shared.items()):
        log(f"run {rid} has the same training inputs as run {source}: it links that training")


snakemake_only(globals(), run)
