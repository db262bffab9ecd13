"""Finished trainings: kept in a run's state folder, reused by the same run, linked by another run with
identical inputs, and planned (which run of a study trains, which link its training).

A finished training is reused only when its digest (detexp.train.training_digest: every input's content) is
the current one and its checkpoint is the one it finished with (its sha256, recorded): a checkpoint
changed since, truncated or unreadable is never reused or linked again.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import layout
from ..content import file_sha256
from ..files import link_or_copy, write_text_whole
from .training_digest import differing_inputs

# Files of the state folder, rfdetr's working folder. Snakemake deletes a failed job's declared
# outputs, never this folder, so the resume state (last.ckpt, metrics history) survives a killed job.
# rfdetr's and Lightning's own names:
STATE_CHECKPOINT = "checkpoint_best_total.pth"
STATE_METRICS = "metrics.csv"
# A finished training: its digest and inputs, class map and summary (with its checkpoint's sha256),
# written last. Snakemake deletes every output of a failed job group (one SLURM allocation: training,
# evaluation, inference), a finished training's included; this and the two files above restore them.
FINISHED = "finished.json"
# The digest of the training a state folder's resume files belong to.
SETTINGS_DIGEST = "settings.digest"


@dataclass(frozen=True)
class TrainingPaths:
    """Where a training writes: the rule's declared outputs, its state folder, and its lock (held
    while it runs, detexp.train.runlock: one training per run at a time). All passed in by the rule."""

    state_dir: Path
    lock: Path
    checkpoint: Path
    class_info: Path
    metrics: Path
    summary: Path
    # The study's results folder: its other runs' finished trainings are linked when identical.
    study_dir: Path | None = None
    # The job's log file, and where the lock holder keeps it whole (a link to it).
    job_log: Path | None = None
    kept_log: Path | None = None

    @classmethod
    def of_run(cls, run_dir: str | Path) -> "TrainingPaths":
        """The paths the workflow uses in a run's folder results/<run> (detexp.layout)."""
        run_dir = Path(run_dir)
        return cls(
            state_dir=run_dir / layout.TRAINING_STATE_DIR,
            lock=run_dir / layout.TRAINING_LOCK,
            checkpoint=run_dir / layout.CHECKPOINT,
            class_info=run_dir / layout.CLASS_INFO,
            metrics=run_dir / layout.TRAINING_METRICS,
            summary=run_dir / layout.TRAINING_SUMMARY,
            study_dir=run_dir.parent,
            kept_log=run_dir / layout.TRAINING_LOG,
        )


@dataclass(frozen=True)
class TrainingIdentity:
    """What a training is: its digest, the inputs it is made of (training_digest.training_inputs), the
    digests earlier schemes gave it (each with the model variant its record must name) and its variant."""

    digest: str
    inputs: dict[str, str]
    legacy: dict[str, str]
    variant: str

    def match(self, finished: dict[str, Any]) -> str | None:
        """'current' if a finished record is of this training under the current digest, 'earlier' if
        under an earlier scheme's digest of it (to be migrated), else None."""
        recorded = finished.get("digest")
        if recorded == self.digest:
            return "current"
        if finished.get("inputs") is None and recorded in self.legacy:
            if finished.get("class_info", {}).get("model") == self.legacy[recorded]:
                return "earlier"
        return None


def _symlink(source: Path, target: Path) -> None:
    """A relative symbolic link (to a file of the run's own state folder)."""
    target.unlink(missing_ok=True)
    target.symlink_to(os.path.relpath(source, target.parent))


def write_outputs(paths: TrainingPaths, finished: dict[str, Any]) -> None:
    """The declared outputs of a finished training, from its state folder.

    A training shared with another run has its files hard-linked from that run's, which are that
    run's outputs too; Snakemake touches every output after its job, so here they are symbolic
    links (a touch changes the link, not the other run's file, which would make its jobs stale)."""
    paths.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    link = _symlink if finished["summary"].get("same_training_as") else link_or_copy
    link(paths.state_dir / STATE_CHECKPOINT, paths.checkpoint)
    link(paths.state_dir / STATE_METRICS, paths.metrics)
    write_text_whole(paths.class_info, json.dumps(finished["class_info"], indent=2) + "\n")
    write_text_whole(paths.summary, json.dumps(finished["summary"], indent=2) + "\n")


def finished_training(state_dir: Path) -> dict[str, Any] | None:
    """The record of a finished training in a state folder (digest, inputs, class map, summary), or
    None (none, or its files are gone, or the record is not readable)."""
    marker = state_dir / FINISHED
    if not marker.is_file() or not all((state_dir / name).is_file() for name in (STATE_CHECKPOINT, STATE_METRICS)):
        return None
    try:
        record = json.loads(marker.read_text())
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _loadable_checkpoint(path: Path) -> bool:
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=False)
        return True
    except Exception:  # a truncated or foreign file: any failure means "not usable"
        return False


def checkpoint_problem(state_dir: Path, finished: dict[str, Any]) -> str | None:
    """Why a finished training's checkpoint may not be used (None: it is the one it finished with).
    A record from before checkpoints were recorded by sha256 is checked by loading the file, and gets
    its sha256 (in `finished`, for the caller to write)."""
    checkpoint = state_dir / STATE_CHECKPOINT
    recorded = finished["summary"].get("checkpoint_sha256")
    actual = file_sha256(checkpoint)
    if recorded is None:
        if not _loadable_checkpoint(checkpoint):
            return f"{checkpoint} is truncated or unreadable"
        finished["summary"]["checkpoint_sha256"] = actual
        return None
    if actual != recorded:
        return f"{checkpoint} is not the checkpoint this training finished with (sha256 {actual[:12]}, recorded {recorded[:12]})"
    return None


def _retire(state_dir: Path, problem: str, log: Callable[[str], None]) -> None:
    """Make a finished training whose checkpoint may not be used never be reused or linked again."""
    (state_dir / FINISHED).unlink(missing_ok=True)
    log(f"warning: {problem}: it is never used again; this run trains anew")


def _current_link(study_dir: Path | None, run: str | None, digest: str, this_run: str | None = None) -> str | None:
    """`run` if it holds a finished training of `digest` now, else None: it was retrained since, or it
    links this run's training back (its owner's folder was removed and made again from this run's
    copy: this run holds the training now, and two runs never name each other)."""
    if run is None or study_dir is None:
        return None
    other = finished_training(study_dir / run / layout.TRAINING_STATE_DIR)
    if other is None or other.get("digest") != digest:
        return None
    return None if this_run is not None and (other.get("summary") or {}).get("same_training_as") == this_run else run


def reuse_finished(
    paths: TrainingPaths, identity: TrainingIdentity, log: Callable[[str], None] = print, planned: str | None = None
) -> dict[str, Any] | None:
    """The summary of the finished training of this identity in the run's own state folder, its outputs
    written again; None when there is none (then the training runs, resuming where it can).

    A job that reruns only because its outputs were deleted (a failed job group on SLURM, a deleted
    checkpoint) or because code outside the training changed then costs seconds, not a training. A
    training finished under an earlier digest scheme is migrated: recorded under the current digest."""
    finished = finished_training(paths.state_dir)
    if finished is None:
        return None
    before = json.dumps(finished, sort_keys=True)
    match = identity.match(finished)
    if match is None:
        log(
            f"{paths.state_dir} holds a finished training of other inputs (differing: "
            f"{', '.join(differing_inputs(finished.get('inputs'), identity.inputs))}): it is not reused"
        )
        return None
    problem = checkpoint_problem(paths.state_dir, finished)
    if problem is not None:
        _retire(paths.state_dir, problem, log)
        return None
    this_run = layout.run_of(paths.state_dir, layout.TRAINING_STATE_DIR)
    linked = _current_link(paths.study_dir, finished["summary"].get("same_training_as"), identity.digest, this_run)
    summary = {
        **finished["summary"],
        "training_digest": identity.digest,
        "same_training_as": linked,
        "linked_by_plan": linked is not None and linked == planned,
        "planned_after": planned,
    }
    record = {**finished, "digest": identity.digest, "inputs": identity.inputs, "summary": summary}
    if json.dumps(record, sort_keys=True) != before:
        write_text_whole(paths.state_dir / FINISHED, json.dumps(record, indent=2) + "\n")
        write_text_whole(paths.state_dir / SETTINGS_DIGEST, identity.digest + "\n")
    if match == "earlier":
        log(f"{paths.state_dir}: finished under an earlier digest scheme of the same training: recorded under the current one")
    write_outputs(paths, record)
    log(
        f"{paths.state_dir}: a finished training with the same settings, data and code is there "
        f"({summary['epochs_run']} epoch(s), best epoch {summary['best_epoch']}): its outputs are linked again, "
        f"nothing is trained (delete {paths.state_dir.parent} to train again)"
    )
    return summary


def finished_trainings_of_other_runs(paths: TrainingPaths, planned: str | None) -> list[tuple[str, Path]]:
    """(run, state folder) of the study's other runs that may hold this training finished: the run the
    workflow planned this one to share a training with first, then every other run, by name."""
    if paths.study_dir is None:
        return []
    states = {
        marker.parents[2].name: marker.parent
        for marker in sorted(paths.study_dir.glob(f"*/{layout.TRAINING_STATE_DIR}/{FINISHED}"))
        if marker.parent.resolve() != paths.state_dir.resolve()
    }
    first = [(planned, states.pop(planned))] if planned in states else []
    return first + sorted(states.items())


def link_identical(
    paths: TrainingPaths, identity: TrainingIdentity, planned: str | None, log: Callable[[str], None] = print
) -> dict[str, Any] | None:
    """Link another run's finished training of the same digest (the same settings, seed, training and
    validation data and code) into this run's state folder and outputs, so that two runs that train
    on the same data train once; None when no run has one. Only a training recorded under the current
    digest is linked (one of an earlier scheme is migrated by its own run first), and only with the
    checkpoint it finished with."""
    for run, state_dir in finished_trainings_of_other_runs(paths, planned):
        finished = finished_training(state_dir)
        if finished is None or identity.match(finished) != "current":
            continue
        problem = checkpoint_problem(state_dir, finished)
        if problem is not None:
            log(f"warning: run {run}'s training has the same inputs, but {problem}: it is not linked")
            continue
        shutil.rmtree(paths.state_dir, ignore_errors=True)  # this run's own, superseded state
        paths.state_dir.mkdir(parents=True)
        for name in (STATE_CHECKPOINT, STATE_METRICS):
            link_or_copy(state_dir / name, paths.state_dir / name)
        summary = {
            **finished["summary"],
            "training_digest": identity.digest,
            "same_training_as": run,
            "linked_by_plan": run == planned,
            "planned_after": planned,
        }
        record = {"digest": identity.digest, "inputs": identity.inputs, "class_info": finished["class_info"], "summary": summary}
        write_text_whole(paths.state_dir / SETTINGS_DIGEST, identity.digest + "\n")
        write_text_whole(paths.state_dir / FINISHED, json.dumps(record, indent=2) + "\n")
        write_outputs(paths, record)
        log(
            f"the same training inputs as run {run} (settings, seed, training and validation data and images, "
            f"starting weights, software, code; digest {identity.digest[:12]}): its finished training is linked "
            f"from {state_dir}, nothing is trained"
        )
        return summary
    if planned is not None:
        log(
            f"note: the training plan expected run {planned} to hold this training finished, but it holds none "
            f"of digest {identity.digest[:12]}: this run trains"
        )
    return None


def plan_trainings(
    digests: dict[str, str], finished_digest: Callable[[str], str | None], links: Callable[[str], bool] = lambda run: False
) -> dict[str, dict[str, str | None]]:
    """Which runs share a training: per run its digest and the run whose training it links
    (`shares_training_of`), None for the run of each digest that trains. That run is the first (in
    the order given) that holds the training finished as its own (`finished_digest(run)`, and not
    `links(run)`: it linked another's), else the first holding it finished, else the first: adding a
    run never moves a finished training, and a run never links one that links it."""
    members: dict[str, list[str]] = {}
    for run, digest in digests.items():
        members.setdefault(digest, []).append(run)
    plan: dict[str, dict[str, str | None]] = {}
    for digest, runs in members.items():
        holding = [r for r in runs if finished_digest(r) == digest]
        trains = next((r for r in holding if not links(r)), holding[0] if holding else runs[0])
        for run in runs:
            plan[run] = {"digest": digest, "shares_training_of": None if run == trains else trains}
    return {run: plan[run] for run in digests}
