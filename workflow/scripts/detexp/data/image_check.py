"""Images that cannot be learned from: undecodable files and JPEGs cut short (a copy or an export
that stopped early: libjpeg fills the missing rows with grey and only says "Premature end of JPEG
file", naming no file). Each image is decoded once; the verdict is cached by its content's sha256
beside the content cache, so a rerun only looks at file sizes and times."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..content import CACHE_FILE as CONTENT_CACHE
from ..content import ContentHashes, JsonCache

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
        self.hashes = ContentHashes(None if results is None else Path(results) / CONTENT_CACHE)
        self.verdicts = JsonCache(None if results is None else Path(results) / CACHE_FILE)

    def problems(self, paths: Iterable[str | Path]) -> dict[str, str]:
        """path -> problem, for the images that have one."""
        found = {}
        for path in paths:
            sha = self.hashes.sha256(path)
            verdict = self.verdicts.get(sha)
            if verdict is None:
                verdict = self.verdicts.put(sha, image_problem(path) or "")
            if verdict:
                found[str(path)] = verdict
        self.hashes.save()
        self.verdicts.save()
        return found
