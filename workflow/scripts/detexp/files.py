"""Files written whole or not at all: a job killed mid-write leaves the earlier content, never half of it."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def written_whole(path: str | Path) -> Iterator[Path]:
    """A path beside `path` (same folder, same extension) to write its new content to, a file or a
    folder: it replaces `path` when the block ends without an exception, and is removed otherwise."""
    path = Path(path)
    partial = path.with_name(f".partial.{os.getpid()}.{path.name}")
    _remove(partial)
    try:
        yield partial
        if partial.is_dir() and path.exists():
            _remove(path)  # a folder cannot replace another in one step
        os.replace(partial, path)
    finally:
        if partial.exists() or partial.is_symlink():
            _remove(partial)


def write_text_whole(path: str | Path, text: str) -> None:
    """Write a text file whole or not at all."""
    with written_whole(path) as partial:
        partial.write_text(text)


def link_or_copy(source: str | Path, target: str | Path) -> None:
    """A hard link of `source` at `target` (replacing it), so no large file is stored twice; a copy
    where the filesystem has no hard links."""
    target = Path(target)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
