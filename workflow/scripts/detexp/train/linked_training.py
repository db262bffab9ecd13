"""A linked run's training: the finished training of the run whose training its settings foresee it
shares (detexp.train.linked_runs), linked in a local job - never trained there (where Snakemake runs there is
no GPU). The link is the train job's own (detexp.train.shared_training): only a finished training of this
run's digest, with the checkpoint it finished with; anything else stops the job and says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .runlock import TrainingLock
from .shared_training import TrainingPaths, link_identical, reuse_finished
from .training import content_cache, identify, keep_log, pretrain_weights_path


class NotTheSameTraining(RuntimeError):
    """The run whose training a run was to link holds no finished training of its digest."""


def link_training(
    dataset_dir: str | Path,
    paths: TrainingPaths,
    classes: list[str],
    training: dict[str, Any],
    seed: int,
    pretrain_path: str | Path | None,
    source: str,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Write a run's training outputs (`paths`) from `source`'s finished training of the same digest (or
    from the run's own, linked before), under the run's training lock; its summary."""
    with TrainingLock(paths.lock, str(paths.state_dir), log, paths.kept_log if paths.job_log else None):
        keep_log(paths, log)
        weights = pretrain_weights_path(training, pretrain_path)
        identity = identify(Path(dataset_dir), classes, training, seed, weights, paths.state_dir, content_cache(paths))
        # (the train job's link says "this run trains" where it finds none: here the refusal below says what happens)
        link_log = lambda message: None if message.startswith("note: the training plan expected") else log(message)  # noqa: E731
        summary = reuse_finished(paths, identity, log, source) or link_identical(paths, identity, source, link_log)
        if summary is None:
            raise NotTheSameTraining(
                f"run {source} holds no finished training of this run's digest {identity.digest[:12]} (the same "
                "settings, seed, data, starting weights, software and code), though their settings foresaw one "
                "training: nothing was trained here, where Snakemake runs. This is a fault of the workflow's "
                "foresight: please report it with results/training_plan.json and this log"
            )
        return summary
