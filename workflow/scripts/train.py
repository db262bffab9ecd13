"""Train RF-DETR on one run's prepared dataset (the train rule; no command-line mode: see bench/train_step.py
for training outside Snakemake)."""

from pathlib import Path

from detexp import layout
from detexp.cli import log, snakemake_only
from detexp.train.training import TrainingPaths, train


def run(smk):
    p, out = smk.params, smk.output
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
    shared = smk.input.get("shared_training")
    same_as = layout.run_of(shared, layout.TRAINING_SUMMARY) if shared else None
    train(p.dataset_dir, paths, p.classes, p.training, p.seed, smk.input.pretrain_weights or None, log=log, same_as=same_as)


snakemake_only(globals(), run)
