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
import os
import shutil
from pathlib import Path
from typing import Any, Callable

from .files import written_whole

MADE_FROM = ".made_from"
RECORD = "inputs.json"


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def inputs_digest(files: list[Path], settings: dict[str, Any], code: str) -> str:
    """One digest of the input files' content (in order), the settings and the code."""
    parts = {"files": [file_sha256(p) for p in files], "settings": settings, "code": code}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def environment(device: str) -> dict[str, str]:
    """What else decides a model's outputs: the device and the versions of the libraries that compute them."""
    from importlib.metadata import version

    return {"device": device, **{name: version(name) for name in ("rfdetr", "torch", "supervision")}}


def record_dir(outputs: dict[str, Path]) -> Path:
    """Where a result's record lives: beside its first output, named after it."""
    first = Path(next(iter(outputs.values())))
    return first.parent / MADE_FROM / first.name


def _link(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # a filesystem without hard links
        shutil.copy2(source, target)


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


def remember(outputs: dict[str, Path], digest: str) -> None:
    """Record that `outputs` were made from `digest`, replacing the record of an earlier result."""
    folder = record_dir(outputs)
    folder.parent.mkdir(parents=True, exist_ok=True)
    made = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    record = {
        "digest": digest,
        "made": made,
        "outputs": {name: str(path) for name, path in outputs.items()},
        "sha256": {name: file_sha256(path) for name, path in outputs.items()},
    }
    with written_whole(folder) as partial:
        partial.mkdir()
        for name, path in outputs.items():
            _link(Path(path), partial / name)
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
    digest = inputs_digest(files, settings, code)
    folder = record_dir(outputs)
    record = _recorded(folder, digest, outputs)
    if record is not None:
        for name, path in outputs.items():
            _link(folder / name, Path(path))
        log(
            f"reused: {', '.join(Path(p).name for p in outputs.values())} of {record['made']} "
            f"({Path(record['outputs'][next(iter(outputs))]).parent}), made from the same input files, "
            f"settings, code and device - no model loaded (delete {folder} to compute them again)"
        )
        return True
    make()
    remember(outputs, digest)
    return False
