"""A user's annotation files are data, not instructions: read with errors that say what to fix, image
paths kept inside their root. The checks of each format's files are in detexp.data.formats.

Every failure names the file, the entry (id or line) and the value, and lists up to
`MAX_LISTED` problems at once so that one run shows what to fix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MAX_LISTED = 10


# Where an absolute file_name outside the images folder is linked inside a dataset.
EXTERNAL_PREFIX = "_external"


class DatasetError(ValueError):
    """The project or the sampling cannot give a valid dataset; the message says why and where."""


def fail_with(source: str | Path, problems: list[str]) -> None:
    """Raise one DatasetError listing the first problems (and how many more there are)."""
    if not problems:
        return
    shown = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    raise DatasetError(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)


def read_text(path: Path, what: str = "annotation file") -> str:
    """A text file's content as UTF-8 (a byte-order mark is allowed), with errors that say what to do."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: {what} is a folder, not a file") from None
    except PermissionError:
        raise DatasetError(f"{path}: {what} cannot be read (permission denied)") from None
    except UnicodeDecodeError as err:
        raw = path.read_bytes()
        line = raw[: err.start].count(b"\n") + 1
        raise DatasetError(
            f"{path}: {what} is not UTF-8 text (byte 0x{raw[err.start]:02x} at line {line}, byte offset "
            f"{err.start}) - save it as UTF-8, e.g. iconv -f latin1 -t utf-8 (for a Latin-1 file)"
        ) from None


def load_json(path: Path) -> Any:
    """Parse a JSON annotation file; errors name the line and column."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def image_source(file_name: str, image_root: Path, where: str) -> tuple[Path, str]:
    """Where to read an image named in an annotation file, and the name of its copy in a dataset.

    A relative name must stay inside `image_root` after `..` and symlinks are resolved. An absolute
    name is read where it is; its copy is named by its place inside `image_root`, or else under
    `_external/` plus the path. The copy's name never starts with `/` or holds `..`.
    """
    root = Path(image_root).resolve()
    name = Path(file_name)
    if "\x00" in file_name:
        raise DatasetError(f"{where}: file_name {file_name!r} holds a NUL character")
    if name.is_absolute():
        source = Path(os.path.normpath(name))
        resolved = source.resolve()
        if _inside(resolved, root):
            return source, resolved.relative_to(root).as_posix()
        return source, (Path(EXTERNAL_PREFIX) / source.relative_to(source.anchor)).as_posix()
    resolved = (root / name).resolve()
    if not _inside(resolved, root) or resolved == root:
        raise DatasetError(
            f"{where}: file_name {file_name!r} resolves to {resolved}, outside the images folder {root} - "
            "relative file names must lie inside it (config key images_dir sets that folder, relative to "
            "project_dir; absolute file names are read where they are)"
        )
    return root / name, resolved.relative_to(root).as_posix()
