"""A linked run's evaluation and inference: the results of the run whose training it holds, reused in
a local job once their inputs are shown identical by content - no model loaded, no GPU.

Which run's results a run reuses is foreseen as the DAG is built, from the jobs' params
(detexp.train.linked_runs.reused_results). This is the check that it was foreseen right: the two checkpoints
are the same bytes (each the one its training recorded), every other input (the test split and its
images, the video) is the same bytes, and the source's result was made from exactly those (its record,
detexp.test.reuse), with the settings this run asks for. Any disagreement stops the job and names the
files or the settings.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Callable

from ..content import ContentHashes
from .evaluation import evaluation_inputs
from ..files import link_or_copy, write_text_whole
from .inference import InferenceSettings
from .logit_adjustment import LogitAdjustment
from .reuse import RECORD, record_dir, verified_checkpoint

# The key a reused result names the run it was computed in, beside the checkpoint it now names.
REUSED_FROM = "reused_from_run"


class NotTheSameInputs(RuntimeError):
    """A run's inputs are not, by content, those of the result it was to reuse."""


def _differing(own: list[Path], theirs: list[Path], hashes: ContentHashes) -> list[str]:
    """The files of `own` whose content is not that of their counterpart in `theirs` (in order)."""
    if len(own) != len(theirs):
        return [f"{len(own)} input files against {len(theirs)}"]
    return [
        f"{a} and {b}"
        for a, b in zip(own, theirs)
        if not (os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)) and hashes.sha256(a) != hashes.sha256(b)
    ]


def _made_from(first_output: Path) -> dict[str, Any] | None:
    """What a result's record says it was made from (detexp.test.reuse.made_from; None: no record)."""
    try:
        record = json.loads((record_dir({"first": first_output}) / RECORD).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return record["made_from"]


def evaluation_settings(batch_size: int, iou_threshold: float) -> dict[str, Any]:
    """The settings an evaluation records (evaluation.run_evaluation_or_reuse, its device aside)."""
    return {"batch_size": batch_size, "iou_threshold": iou_threshold}


def inference_settings(settings: InferenceSettings, adjustment: LogitAdjustment | None) -> dict[str, Any]:
    """The settings an inference records (inference.run_inference_or_reuse, its device aside)."""
    return {
        **dataclasses.asdict(settings),
        "logit_adjustment": None if adjustment is None else dataclasses.asdict(adjustment),
    }


def _as_recorded(value: Any) -> Any:
    """A value as a record holds it (JSON: tuples are lists)."""
    return json.loads(json.dumps(value, default=str))


def check_same_inputs(
    run: str,
    source: str,
    own: list[Path],
    theirs: list[Path],
    source_output: Path,
    hashes: ContentHashes,
    what: str,
    settings: dict[str, Any],
) -> None:
    """Refuse unless `own` inputs equal `theirs` by content and the source's result (its first output
    `source_output`) was made from them with these `settings`, as its record says; a result without a
    record (made before records existed) is taken as Snakemake made it."""
    for checkpoint in (own[0], theirs[0]):
        verified_checkpoint(checkpoint)
    differing = _differing(own, theirs, hashes)
    if differing:
        raise NotTheSameInputs(
            f"run {run} was to reuse run {source}'s {what} (their settings foresee one training), but these "
            f"inputs differ in content: {'; '.join(differing[:5])}{' ...' if len(differing) > 5 else ''}. Nothing "
            "was reused. This is a fault of the workflow's foresight: please report it with results/training_plan.json"
        )
    made = _made_from(source_output)
    record = record_dir({"first": source_output}) / RECORD
    if made is not None and [sha for _, sha in made["files"]] != hashes.many(theirs):
        raise NotTheSameInputs(
            f"run {source}'s {what} ({source_output}) was not made from the files it has now: its record "
            f"({record}) names other content. Nothing was reused; delete {source_output} and rerun to compute it again"
        )
    recorded = {} if made is None else made["settings"]
    other = [
        f"{key} {recorded.get(key)!r} there, {value!r} here"
        for key, value in _as_recorded(settings).items()
        if made is not None and recorded.get(key) != value
    ]
    if other:
        raise NotTheSameInputs(
            f"run {run} was to reuse run {source}'s {what} ({source_output}), but its record ({record}) says it "
            f"was made with other settings: {'; '.join(other)}. Nothing was reused; delete {source_output} and rerun "
            "to compute it again"
        )
    hashes.save()


def link_evaluation(
    run: str,
    source: str,
    checkpoint: Path,
    annotations: Path,
    source_checkpoint: Path,
    source_annotations: Path,
    source_outputs: dict[str, Path],
    outputs: dict[str, Path],
    settings: dict[str, Any],
    hashes: ContentHashes,
    log: Callable[[str], None] = print,
) -> None:
    """`outputs` (metrics, predictions, confusion_matrix) from the source run's evaluation of the same
    checkpoint on the same test split with the same `settings` (evaluation_settings); the metrics name
    this run's checkpoint and the source run."""
    own, theirs = evaluation_inputs(checkpoint, annotations), evaluation_inputs(source_checkpoint, source_annotations)
    check_same_inputs(run, source, own, theirs, source_outputs["metrics"], hashes, "evaluation", settings)
    for name in ("predictions", "confusion_matrix"):
        link_or_copy(source_outputs[name], outputs[name])
    metrics = json.loads(Path(source_outputs["metrics"]).read_text())
    metrics.update({"checkpoint": str(checkpoint), "test_annotations": str(annotations), REUSED_FROM: source})
    write_text_whole(outputs["metrics"], json.dumps(metrics, indent=2) + "\n")
    log(
        f"run {run} holds run {source}'s training (the same checkpoint, sha256 {hashes.sha256(checkpoint)[:12]}): "
        f"its evaluation is {source}'s on the same test split ({len(own) - 2} images, the same bytes), reused "
        "here without loading a model or taking a GPU"
    )


def link_inference(
    run: str,
    source: str,
    checkpoint: Path,
    video: Path,
    source_checkpoint: Path,
    source_outputs: dict[str, Path],
    outputs: dict[str, Path],
    settings: dict[str, Any],
    hashes: ContentHashes,
    log: Callable[[str], None] = print,
) -> None:
    """`outputs` (video, detections) from the source run's inference of the same checkpoint on the same
    video with the same `settings` (inference_settings); the detections name this run's checkpoint and
    the source run."""
    own, theirs = [checkpoint, video], [source_checkpoint, video]
    check_same_inputs(run, source, own, theirs, source_outputs["video"], hashes, "inference", settings)
    link_or_copy(source_outputs["video"], outputs["video"])
    detections = json.loads(Path(source_outputs["detections"]).read_text())
    detections["model"].update({"checkpoint": str(checkpoint), REUSED_FROM: source})
    write_text_whole(outputs["detections"], json.dumps(detections) + "\n")
    log(
        f"run {run} holds run {source}'s training (the same checkpoint, sha256 {hashes.sha256(checkpoint)[:12]}): "
        f"its inference on {video.name} is {source}'s, reused here without loading a model or taking a GPU"
    )
