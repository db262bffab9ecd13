"""Images that cannot be learned from: undecodable files and JPEGs cut short (a copy or an export
that stopped early: libjpeg fills the missing rows with grey and only says "Premature end of JPEG
file", naming no file). Each image is decoded once; the verdict is cached by its content's sha256
beside the content cache, so a rerun only looks at file sizes and times."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from .content import ContentHashes
from .files import write_text_whole

# The study's cache of verdicts, relative to its results folder, beside content.CACHE_FILE.
CACHE_FILE = ".cache/image_checks.json"
_JPEG_SCAN, _JPEG_END = b"\xff\xda", b"\xff\xd9"


def image_problem(path: str | Path) -> str | None:
    """What keeps an image from being read whole, or None: it cannot be decoded, or it is a JPEG with
    no end marker after its last scan (bytes after the marker, which some cameras append, are fine)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\xff\xd8" and data.rfind(_JPEG_END) < data.rfind(_JPEG_SCAN):
        return "truncated: a JPEG without its end marker"
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        return f"cannot be decoded ({err})"
    return None


class ImageChecks:
    """image_problem of many files, cached by content (or in memory only, with `results` None)."""

    def __init__(self, results: str | Path | None = None) -> None:
        from .content import CACHE_FILE as CONTENT_CACHE

        self.cache = None if results is None else Path(results) / CACHE_FILE
        self.hashes = ContentHashes(None if results is None else Path(results) / CONTENT_CACHE)
        self._known: dict[str, str] = self._read()
        self._new: dict[str, str] = {}

    def _read(self) -> dict[str, str]:
        if self.cache is None:
            return {}
        try:
            data = json.loads(self.cache.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def problems(self, paths: Iterable[str | Path]) -> dict[str, str]:
        """path -> problem, for the images that have one."""
        found = {}
        for path in paths:
            sha = self.hashes.sha256(path)
            verdict = self._new.get(sha, self._known.get(sha))
            if verdict is None:
                verdict = self._new[sha] = image_problem(path) or ""
            if verdict:
                found[str(path)] = verdict
        self.hashes.save()
        if self.cache is not None and self._new:
            merged = {**self._read(), **self._known, **self._new}
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            write_text_whole(self.cache, json.dumps(merged, sort_keys=True) + "\n")
            self._known, self._new = merged, {}
        return found
