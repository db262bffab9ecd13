"""What files hold, by content: sha256 digests, cached so that a rerun does not read a dataset again.

A file's digest is cached by (device, inode, size, modification time in ns): a file rewritten in place
or replaced by another changes at least one of these, so its digest is computed anew; the dataset's
hard links to a project's image share one inode and so one cache entry whatever run folder they lie
in (a key by path would hash every image once per run). A copy that keeps the size and the
modification time of what it overwrites in place (same inode) is the one change the cache cannot see.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

from .files import write_text_whole

# The study's cache, relative to its results folder (a study's copies of one image share its entry).
CACHE_FILE = ".cache/content_sha256.json"


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read now."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _key(path: Path) -> str:
    info = os.stat(path)
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


class JsonCache:
    """A dict kept in a JSON file (or in memory only, with `path` None), written whole (never torn) and
    merged with what another process wrote meanwhile: an entry lost to a race is only computed again,
    never wrong, as long as its key says everything its value depends on."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._known: dict[str, str] = self._read()
        self._new: dict[str, str] = {}

    def _read(self) -> dict[str, str]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):  # none yet, or torn by a crash of an older version
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        return self._new.get(key, self._known.get(key))

    def put(self, key: str, value: str) -> str:
        self._new[key] = value
        return value

    def save(self) -> None:
        """Write the entries put since the last save, merged into what the file holds now."""
        if self.path is None or not self._new:
            return
        merged = {**self._read(), **self._known, **self._new}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_whole(self.path, json.dumps(merged, sort_keys=True) + "\n")
        self._known, self._new = merged, {}


class ContentHashes:
    """sha256 of files, cached by the file's state (JsonCache; in memory only with `cache` None)."""

    def __init__(self, cache: str | Path | None = None) -> None:
        self.cache = None if cache is None else Path(cache)
        self._digests = JsonCache(self.cache)

    def sha256(self, path: str | Path) -> str:
        key = _key(Path(path))
        return self._digests.get(key) or self._digests.put(key, file_sha256(path))

    def many(self, paths: Iterable[str | Path]) -> list[str]:
        digests = [self.sha256(p) for p in paths]
        self.save()
        return digests

    def save(self) -> None:
        self._digests.save()


def stat_fingerprint(paths: Iterable[str | Path]) -> str:
    """A digest of files' names, sizes and modification times (not their bytes): it changes when a file
    is edited, replaced, restored from a backup with an older time, added or removed."""
    parts = []
    for path in sorted(map(str, paths)):
        try:
            info = os.stat(path)
            parts.append(f"{path}\0{info.st_size}\0{info.st_mtime_ns}")
        except FileNotFoundError:
            parts.append(f"{path}\0missing")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


# What a labelled project's reading depends on: its images and its annotation files.
PROJECT_FILE_SUFFIXES = frozenset(
    (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".json", ".xml", ".txt", ".yaml", ".yml")
)


def tree_fingerprint(root: str | Path, skip: tuple[str | Path, ...] = ()) -> str:
    """stat_fingerprint of every image and annotation file under `root` (hidden ones and the folders
    `skip` left out): a project's images replaced, edited or restored change it, without reading them.
    `skip` holds folders (relative to `root`, or anywhere: those outside it are ignored) such as the
    workflow's own results and logs where a project lies in the working folder itself."""
    root = Path(root)
    skipped = {Path(os.path.abspath(root / s)) for s in skip}
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(os.path.abspath(Path(folder) / d)) not in skipped)
        found.extend(Path(folder) / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in PROJECT_FILE_SUFFIXES)
    return stat_fingerprint(found)
