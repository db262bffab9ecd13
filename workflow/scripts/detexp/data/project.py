"""A labelled project in memory: its frames, their boxes mapped to the configured classes, and
what reading it repaired or dropped (counted). The format readers (detexp.data.formats) build it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .sources import DatasetError

SPLIT_ALIASES = {"train": "train", "valid": "valid", "val": "valid", "validation": "valid", "test": "test"}


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class Box:
    """One annotation, already mapped to the configured class index."""

    label: int
    bbox: list[float]  # COCO xywh, in pixels, clipped to the image


@dataclass
class Frame:
    """One annotated image of the project."""

    file_name: str
    width: int
    height: int
    clip: str
    boxes: list[Box] = field(default_factory=list)
    split: str | None = None  # the source's own split, for exports that are already split
    source: Path | None = None  # the image to read (default: the project's image_root / file_name)
    # The frame's name within its split or images folder, exporter suffixes removed (original_name): what
    # the draws are keyed on, so that one project gives one draw whatever its format. Default: file_name.
    key: str = ""

    def __post_init__(self) -> None:
        self.key = self.key or self.file_name

    def labels(self) -> set[int]:
        return {b.label for b in self.boxes}


@dataclass
class Project:
    """A project read from disk: its frames and where their images are."""

    frames: list[Frame]
    image_root: Path
    classes: list[str]
    clipped_boxes: int = 0  # repaired: boxes running off the image, clipped to it
    dropped_by_category: dict[str, int] = field(default_factory=dict)  # categories outside `classes`
    degenerate_boxes: list[str] = field(default_factory=list)  # dropped: where each box of zero width or height was
    bad_images: list[str] = field(default_factory=list)  # dropped with their frames: "file: what is wrong"
    clip_rule: str = "splits.clip_regex on file names"  # how frames were grouped into clips

    @property
    def dropped_annotations(self) -> int:
        return sum(self.dropped_by_category.values())

    def source_of(self, frame: Frame) -> Path:
        """The image file of a frame (only ever read)."""
        return frame.source if frame.source is not None else self.image_root / frame.file_name


# What Roboflow makes of a file name: clipA_0001.jpg -> clipA_0001_jpg.rf.<hash>.jpg (some exports
# drop the `_jpg` part). Only the last path component is renamed.
_ROBOFLOW_NAME = re.compile(
    r"^(?P<base>.+?)(?:_(?P<ext>" + "|".join(s.lstrip(".") for s in IMAGE_SUFFIXES) + r"))?"
    r"\.rf\.[0-9A-Za-z]{8,}(?P<suffix>\.[A-Za-z0-9]+)?$",
    re.IGNORECASE,
)


def original_name(file_name: str) -> str:
    """A file name without the suffixes exporters add: clipA_0001_jpg.rf.<hash>.jpg -> clipA_0001.jpg."""
    folder, _, name = file_name.rpartition("/")
    match = _ROBOFLOW_NAME.match(name)
    if match:
        ext = "." + match["ext"] if match["ext"] else (match["suffix"] or "")
        name = match["base"] + ext
    return f"{folder}/{name}" if folder else name


def clip_of(key: str, clip_regex: str) -> str:
    """The clip a frame belongs to: the regex's `clip` group on its frame key without extension."""
    stem = Path(key).with_suffix("").as_posix()
    match = re.match(clip_regex, stem)
    if not match:
        return stem
    return match.groupdict().get("clip") or match.group(0)


def _clip_box(bbox: list[float], width: int, height: int) -> tuple[list[float], bool]:
    x, y, w, h = (float(v) for v in bbox)
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    clipped = [x0, y0, x1 - x0, y1 - y0]
    return clipped, clipped != [x, y, w, h]


def _did_you_mean(name: str, available: Iterable[str]) -> str:
    """' - did you mean 'dog'?' for a class name that differs only in case or by a small edit."""
    import difflib

    available = list(available)
    same = [a for a in available if a.casefold() == name.casefold()]
    close = same or difflib.get_close_matches(name, available, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_classes(classes: list[str], available: dict[str, int | None], source: Path) -> None:
    """Every configured class must be a class of the project; the message lists the project's classes
    with their box counts (None: not counted) and suggests the nearest name."""
    absent = [c for c in classes if c not in available]
    if absent:
        has = ", ".join(n if count is None else f"{n} ({count} boxes)" for n, count in sorted(available.items()))
        wrong = ", ".join(repr(c) + _did_you_mean(c, available) for c in absent)
        raise DatasetError(f"{source}: class(es) {wrong} not in the project - it has: {has}")


def add_box(project: Project, frame: Frame, label: int | None, category: str, bbox_xywh: list[float], where: str) -> None:
    """Add one box to a frame, clipped to the image (counted); a category outside `classes` is dropped
    (counted by name), as is a box of zero width or height (noted where); a box with nothing inside
    the image is an error."""
    if label is None:
        project.dropped_by_category[category] = project.dropped_by_category.get(category, 0) + 1
        return
    if bbox_xywh[2] == 0 or bbox_xywh[3] == 0:  # a point or a line: common in CVAT and Roboflow exports
        project.degenerate_boxes.append(f"{where}: box {bbox_xywh} (x, y, width, height)")
        return
    bbox, was_clipped = _clip_box(bbox_xywh, frame.width, frame.height)
    if bbox[2] <= 0 or bbox[3] <= 0:
        raise DatasetError(f"{where}: box {bbox_xywh} (x, y, width, height) lies entirely outside the image")
    project.clipped_boxes += was_clipped
    frame.boxes.append(Box(label, bbox))


def merge_projects(projects: list[Project], image_root: Path, classes: list[str]) -> Project:
    merged = Project([], image_root, list(classes), clip_rule=projects[0].clip_rule if projects else Project.clip_rule)
    for p in projects:
        merged.frames.extend(p.frames)
        merged.clipped_boxes += p.clipped_boxes
        merged.degenerate_boxes += p.degenerate_boxes
        for category, n in p.dropped_by_category.items():
            merged.dropped_by_category[category] = merged.dropped_by_category.get(category, 0) + n
    merged.frames.sort(key=lambda f: f.file_name)
    return merged


def image_size(path: Path) -> tuple[int, int]:
    """Width and height from the image header (the pixels are not decoded)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.size
    except OSError as err:
        raise DatasetError(f"{path}: not a readable image ({err})") from None


def split_dirs(root: Path, sub: str | None = None) -> dict[str, Path]:
    """{train,valid,test} -> folder, for the split folders present under root (or root/<split>/sub)."""
    found = {}
    for child in sorted(root.iterdir()) if root.is_dir() else []:
        split = SPLIT_ALIASES.get(child.name.lower())
        target = child / sub if sub else child
        if child.is_dir() and split and target.is_dir():
            found[split] = target
    return found
