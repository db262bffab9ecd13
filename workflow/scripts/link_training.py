"""A linked run's training: the finished training of the run whose training its settings foresee it
shares, linked where Snakemake runs (detexp.train.linked_training)."""

from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.train.linked_training import link_training
from detexp.train.shared_training import TrainingPaths


def run(smk):
    p, out = smk.params, smk.output
    # as train.py builds them: that script is in every training's digest, so it is not edited to share this
    paths = TrainingPaths(
        state_dir=Path(p.state_dir),
        lock=Path(p.lock),
        checkpoint=Path(out.checkpoint),
        class_info=Path(out.class_info),
        metrics=Path(out.metrics),
        summary=Path(out.summary),
        study_dir=Path(p.study_dir),
        job_log=Path(smk.log[0]),
        kept_log=Path(p.kept_log),
    )
    link_training(p.dataset_dir, paths, p.classes, p.training, p.seed, smk.input.pretrain_weights or None, p.source, log)


snakemake_only(globals(), run)
