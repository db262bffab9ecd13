"""Early cutoff for the GPU steps: a result already made from identical inputs is linked again.

Snakemake reruns a job when anything upstream was rewritten, even byte for byte the same (a module
edit that re-prepares every dataset identically, a training linked again). On a cluster each such
evaluation or inference would wait in the GPU queue and load a model to write the same bytes. So a
result keeps, beside its outputs, what it was made from (`.made_from/<first output>/`: hard links to
its outputs and `inputs.json`): the content of its input files, its settings, its code and the
software and device it ran with. A job whose inputs are the same links those outputs back.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Callable

from .. import layout
from ..content import file_sha256
from ..files import link_or_copy, written_whole

MADE_FROM = ".made_from"
RECORD = "inputs.json"


def made_from(files: list[Path], settings: dict[str, Any], code: str) -> dict[str, Any]:
    """What a result is made from: its input files' content (sha256, in order), settings and code."""
    return {"files": [[str(p), file_sha256(p)] for p in files], "settings": settings, "code": code}


def inputs_digest(parts: dict[str, Any]) -> str:
    """One digest of what a result is made from (made_from), the files by content, not by path."""
    content = {**parts, "files": [sha for _, sha in parts["files"]]}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


# Libraries whose version changes an evaluation's or an inference's numbers: the model (rfdetr, torch,
# torchvision), the AP (faster-coco-eval), the image and video decoding (opencv, PyAV), the boxes drawn
# (supervision).
RESULT_LIBRARIES = ("rfdetr", "torch", "torchvision", "supervision", "faster-coco-eval")


def environment(device: str) -> dict[str, str]:
    """What else decides a model's outputs: the device and the versions of the libraries that compute them."""
    from importlib.metadata import version

    import av
    import cv2

    return {
        "device": device,
        **{name: version(name) for name in RESULT_LIBRARIES},
        "opencv": cv2.__version__,
        "av": av.__version__,
    }


class CheckpointChangedError(RuntimeError):
    """A run's checkpoint is not the one its training recorded."""


def verified_checkpoint(checkpoint: str | Path) -> None:
    """Refuse a run's checkpoint that is not the one its training finished with (the sha256 its
    training_summary.json beside it records; a checkpoint without one, outside a run, is not checked)."""
    checkpoint = Path(checkpoint)
    summary = checkpoint.parent / Path(layout.TRAINING_SUMMARY).relative_to(Path(layout.CHECKPOINT).parent)
    try:
        recorded = json.loads(summary.read_text()).get("checkpoint_sha256")
    except FileNotFoundError:
        return
    if recorded is None:
        return
    actual = file_sha256(checkpoint)
    if actual != recorded:
        raise CheckpointChangedError(
            f"{checkpoint} (sha256 {actual[:12]}) is not the checkpoint its training finished with: {summary} "
            f"records sha256 {recorded[:12]} (it was overwritten or damaged since). Delete {checkpoint.parent}/ and "
            "rerun: the run trains again, or links an identical run's training"
        )


def record_dir(outputs: dict[str, Path]) -> Path:
    """Where a result's record lives: beside its first output, named after it."""
    first = Path(next(iter(outputs.values())))
    return first.parent / MADE_FROM / first.name


def _recorded(folder: Path, digest: str, outputs: dict[str, Path]) -> dict[str, Any] | None:
    """The record in `folder` if it was made from `digest` and its files are whole, else None."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (FileNotFoundError, ValueError):
        return None
    if record.get("digest") != digest or set(record.get("sha256", {})) != set(outputs):
        return None
    for name, sha in record["sha256"].items():
        kept = folder / name
        if not kept.is_file() or file_sha256(kept) != sha:
            return None
    return record


def remember(outputs: dict[str, Path], parts: dict[str, Any]) -> None:
    """Record that `outputs` were made from `parts` (made_from), replacing the record of an earlier
    result; what a killed job left half written there is removed."""
    digest = inputs_digest(parts)
    folder = record_dir(outputs)
    folder.parent.mkdir(parents=True, exist_ok=True)
    for leftover in folder.parent.glob(f".partial.*.{folder.name}"):
        shutil.rmtree(leftover, ignore_errors=True)
    made = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    record = {
        "digest": digest,
        "made": made,
        "made_from": parts,
        "outputs": {name: str(path) for name, path in outputs.items()},
        "sha256": {name: file_sha256(path) for name, path in outputs.items()},
    }
    with written_whole(folder) as partial:
        partial.mkdir()
        for name, path in outputs.items():
            link_or_copy(Path(path), partial / name)
        (partial / RECORD).write_text(json.dumps(record, indent=2) + "\n")


def run_or_reuse(
    outputs: dict[str, Path],
    files: list[Path],
    settings: dict[str, Any],
    code: str,
    make: Callable[[], Any],
    log: Callable[[str], None] = print,
) -> bool:
    """Link `outputs` from the record of a result made from the same `files` (content), `settings`
    and `code`; else `make()` them and record that. True when reused."""
    parts = made_from(files, settings, code)
    digest = inputs_digest(parts)
    folder = record_dir(outputs)
    record = _recorded(folder, digest, outputs)
    if record is not None:
        for name, path in outputs.items():
            link_or_copy(folder / name, Path(path))
        log(
            f"reused: {', '.join(Path(p).name for p in outputs.values())} of {record['made']} "
            f"({Path(record['outputs'][next(iter(outputs))]).parent}), made from the same input files, "
            f"settings, code and device - no model loaded (delete {folder} to compute them again)"
        )
        return True
    make()
    remember(outputs, parts)
    return False
