"""Reading a labelled project (COCO, a Roboflow COCO export, YOLO or Pascal VOC), splitting it by
clip, sampling training frames per class (fractions, oversampling, repeat-factor sampling) and
writing RF-DETR datasets.

No image is decoded: sizes come from the annotations (YOLO: from the image file's header), and the
datasets' images are links to the project's, not copies.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import posixpath
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

from .layout import SPLIT_ANNOTATIONS_NAME
from .files import written_whole
from .layout import SPLIT_NAMES
from .schemas import load_schema
from .sources import (
    DatasetError,
    fail_with,
    check_voc_objects,
    check_yolo_labels,
    image_source,
    load_json,
    validate_coco,
    yolo_box_counts,
    yolo_class_names,
)

SPLIT_ALIASES = {"train": "train", "valid": "valid", "val": "valid", "validation": "valid", "test": "test"}
# The project formats the readers know: the schema's project_format values but `auto` (detected).
FORMATS = tuple(f for f in load_schema("config.schema.yaml")["properties"]["project_format"]["enum"] if f != "auto")
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
    clip_rule: str = "splits.clip_regex on file names"  # how frames were grouped into clips

    @property
    def dropped_annotations(self) -> int:
        return sum(self.dropped_by_category.values())

    def source_of(self, frame: Frame) -> Path:
        """The image file of a frame (only ever read)."""
        return frame.source if frame.source is not None else self.image_root / frame.file_name


def unit_key(*parts: object) -> float:
    """A deterministic uniform number in [0, 1) for the given parts (stable across runs and machines)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


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


def read_coco_project(
    annotations: Path, image_root: Path, classes: list[str], clip_regex: str, prefix: str = "", split: str | None = None
) -> Project:
    """Read a COCO file (validated first), keeping only the configured classes (others are dropped, counted).

    `image_root` is the folder the images' `file_name` entries are relative to (subfolders allowed;
    absolute names are read where they are); `prefix` is put before each name in the dataset (the
    split folder of a Roboflow export).
    """
    ann_path, image_root = Path(annotations), Path(image_root)
    if not ann_path.parent.is_dir():
        raise DatasetError(f"project folder {ann_path.parent} does not exist or is not a folder")
    coco = load_json(ann_path)
    validate_coco(coco, ann_path)
    name_of = {c["id"]: c["name"] for c in coco["categories"]}
    boxes_of = Counter(name_of[a["category_id"]] for a in coco["annotations"])
    parents = {c.get("supercategory") for c in coco["categories"]}
    # a category with no boxes that other categories name as their supercategory is a folder, not a class
    _check_classes(classes, {n: boxes_of[n] for n in name_of.values() if boxes_of[n] or n not in parents}, ann_path)
    label_of_name = {name: i for i, name in enumerate(classes)}
    located: dict[Any, tuple[Path, str]] = {}
    id_of_name: dict[str, Any] = {}
    for img in coco["images"]:
        where = f"{ann_path}: image id {img['id']!r}"
        source, name = image_source(img["file_name"], image_root, where)
        if not source.is_file():
            raise DatasetError(
                f"{where}: file_name {img['file_name']!r} refers to {source}, which does not exist or is not a file"
                + ("" if prefix else _images_dir_hint(ann_path.parent, image_root, name))
            )
        if name in id_of_name:
            raise DatasetError(f"{where}: file_name {img['file_name']!r} is the same image as image id {id_of_name[name]!r}")
        id_of_name[name] = img["id"]
        located[img["id"]] = source, name
    frames: dict[Any, Frame] = {}
    for img in coco["images"]:
        source, name = located[img["id"]]
        key = original_name(name)  # the name within the images folder (images_dir, or the export's split folder)
        clip = str(img["video_id"]) if "video_id" in img else clip_of(key, clip_regex)
        width, height = int(img["width"]), int(img["height"])
        frames[img["id"]] = Frame(prefix + name, width, height, clip, split=split, source=source, key=key)
    project = Project([], image_root.parent if prefix else image_root, list(classes))
    if any("video_id" in img for img in coco["images"]):
        project.clip_rule = "the COCO images' video_id"
    for ann in coco["annotations"]:
        frame = frames[ann["image_id"]]
        where = f"{ann_path}: annotation id {ann['id']!r} (image {frame.file_name!r}, {frame.width}x{frame.height})"
        category = name_of[ann["category_id"]]
        _add_box(project, frame, label_of_name.get(category), category, [float(v) for v in ann["bbox"]], where)
    project.frames = sorted(frames.values(), key=lambda f: f.file_name)
    return project


def _images_dir_hint(project_dir: Path, image_root: Path, name: str) -> str:
    """Where a missing image is after all, under the project folder, and the images_dir that finds it."""
    base = PurePosixPath(name)
    found = next(
        (p for p in sorted(project_dir.rglob(base.name)) if p.is_file() and p.as_posix().endswith(base.as_posix())), None
    )
    if found is None:
        return ""
    folder = Path(found.as_posix().removesuffix("/" + base.as_posix()))
    images_dir = os.path.relpath(folder, project_dir)
    return f" - it is at {found}: set images_dir: {images_dir} (the folder file_name entries are relative to, in project_dir)"


def _did_you_mean(name: str, available: Iterable[str]) -> str:
    """' - did you mean 'dog'?' for a class name that differs only in case or by a small edit."""
    import difflib

    available = list(available)
    same = [a for a in available if a.casefold() == name.casefold()]
    close = same or difflib.get_close_matches(name, available, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_classes(classes: list[str], available: dict[str, int | None], source: Path) -> None:
    """Every configured class must be a class of the project; the message lists the project's classes
    with their box counts (None: not counted) and suggests the nearest name."""
    absent = [c for c in classes if c not in available]
    if absent:
        has = ", ".join(n if count is None else f"{n} ({count} boxes)" for n, count in sorted(available.items()))
        wrong = ", ".join(repr(c) + _did_you_mean(c, available) for c in absent)
        raise DatasetError(f"{source}: class(es) {wrong} not in the project - it has: {has}")


def _add_box(project: Project, frame: Frame, label: int | None, category: str, bbox_xywh: list[float], where: str) -> None:
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


def _merge(projects: list[Project], image_root: Path, classes: list[str]) -> Project:
    merged = Project([], image_root, list(classes), clip_rule=projects[0].clip_rule if projects else Project.clip_rule)
    for p in projects:
        merged.frames.extend(p.frames)
        merged.clipped_boxes += p.clipped_boxes
        merged.degenerate_boxes += p.degenerate_boxes
        for category, n in p.dropped_by_category.items():
            merged.dropped_by_category[category] = merged.dropped_by_category.get(category, 0) + n
    merged.frames.sort(key=lambda f: f.file_name)
    return merged


def _image_size(path: Path) -> tuple[int, int]:
    """Width and height from the image header (the pixels are not decoded)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.size
    except OSError as err:
        raise DatasetError(f"{path}: not a readable image ({err})") from None


def _split_dirs(root: Path, sub: str | None = None) -> dict[str, Path]:
    """{train,valid,test} -> folder, for the split folders present under root (or root/<split>/sub)."""
    found = {}
    for child in sorted(root.iterdir()) if root.is_dir() else []:
        split = SPLIT_ALIASES.get(child.name.lower())
        target = child / sub if sub else child
        if child.is_dir() and split and target.is_dir():
            found[split] = target
    return found


def detect_format(project_dir: Path, annotations_file: str | None = None) -> str:
    """Which layout a project has: coco, roboflow (COCO already split), yolo or voc."""
    project_dir = Path(project_dir)
    if annotations_file:
        return "coco"
    if all((project_dir / s / SPLIT_ANNOTATIONS_NAME).is_file() for s in ("train", "valid")):
        return "roboflow"
    if (project_dir / "data.yaml").is_file():
        return "yolo"
    if (project_dir / SPLIT_ANNOTATIONS_NAME).is_file() or list(project_dir.glob("*.json")):
        return "coco"
    if (project_dir / "Annotations").is_dir() or next(project_dir.rglob("*.xml"), None) is not None:
        return "voc"  # Annotations/*.xml, or XML files beside the images (in any subfolder)
    raise DatasetError(
        f"{project_dir}: no known dataset layout - expected a COCO file ({SPLIT_ANNOTATIONS_NAME} or one *.json), "
        "train/ valid/ test/ folders each with " + SPLIT_ANNOTATIONS_NAME + ", a YOLO data.yaml, or Pascal VOC *.xml files"
    )


def coco_annotations_path(project_dir: Path, annotations_file: str | None) -> Path:
    """The COCO file of a coco-layout project: the configured one, `_annotations.coco.json`, or the only *.json."""
    project_dir = Path(project_dir)
    if annotations_file:
        return project_dir / annotations_file
    if (project_dir / SPLIT_ANNOTATIONS_NAME).is_file():
        return project_dir / SPLIT_ANNOTATIONS_NAME
    candidates = sorted(project_dir.glob("*.json"))
    if len(candidates) != 1:
        raise DatasetError(
            f"{project_dir}: cannot tell which JSON file holds the COCO annotations "
            f"({', '.join(p.name for p in candidates) or 'none found'}) - set annotations_file"
        )
    return candidates[0]


def project_sources(project_dir: Path, fmt: str, annotations_file: str | None = None) -> list[str]:
    """The files that define a project's annotations (Snakemake inputs of the split)."""
    project_dir = Path(project_dir)
    if fmt == "coco":
        return [str(coco_annotations_path(project_dir, annotations_file))]
    if fmt == "roboflow":
        return [
            str(p / SPLIT_ANNOTATIONS_NAME) for p in _split_dirs(project_dir).values() if (p / SPLIT_ANNOTATIONS_NAME).is_file()
        ]
    if fmt == "yolo":
        return [str(project_dir / "data.yaml")]
    return sorted(str(p) for p in _voc_xml_files(project_dir))


def _voc_xml_files(project_dir: Path) -> list[Path]:
    root = project_dir / "Annotations" if (project_dir / "Annotations").is_dir() else project_dir
    return sorted(root.rglob("*.xml"))


def read_project(
    project_dir: Path,
    classes: list[str],
    clip_regex: str,
    fmt: str = "auto",
    annotations_file: str | None = None,
    images_dir: str = ".",
    degenerate_boxes: str = "drop",
) -> Project:
    """Read a project in any supported layout; frame file names are relative to `project.image_root`.

    Boxes of zero width or height are dropped and noted (`project.degenerate_boxes`), or, with
    `degenerate_boxes="refuse"`, fail the read naming each."""
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise DatasetError(f"project_dir {project_dir} does not exist or is not a folder")
    fmt = detect_format(project_dir, annotations_file) if fmt == "auto" else fmt
    if fmt == "coco":
        project = read_coco_project(
            coco_annotations_path(project_dir, annotations_file), project_dir / images_dir, classes, clip_regex
        )
    elif fmt == "roboflow":
        parts = [
            read_coco_project(d / SPLIT_ANNOTATIONS_NAME, d, classes, clip_regex, prefix=f"{d.name}/", split=split)
            for split, d in _split_dirs(project_dir).items()
            if (d / SPLIT_ANNOTATIONS_NAME).is_file()
        ]
        project = _merge(parts, project_dir, classes)
    elif fmt == "yolo":
        project = _read_yolo(project_dir, classes, clip_regex)
    elif fmt == "voc":
        project = _read_voc(project_dir, classes, clip_regex)
    else:
        raise DatasetError(f"unknown project format {fmt!r} - one of: auto, {', '.join(FORMATS)}")
    if degenerate_boxes == "refuse" and project.degenerate_boxes:
        fail_with(
            f"{project_dir} (degenerate_boxes: refuse; drop drops and counts them)",
            [f"{where} has a width or height of 0" for where in project.degenerate_boxes],
        )
    return project


def _read_yolo(project_dir: Path, classes: list[str], clip_regex: str) -> Project:
    """YOLO: data.yaml with images/ and labels/ (flat, images/<split>/, or <split>/images/), via supervision."""
    from supervision.dataset.formats.yolo import load_yolo_annotations

    data_yaml = project_dir / "data.yaml"
    layouts = _split_dirs(project_dir / "images")
    pairs = {s: (d, project_dir / "labels" / d.name) for s, d in layouts.items()}
    if not pairs:
        pairs = {s: (d, d.parent / "labels") for s, d in _split_dirs(project_dir, "images").items()}
    if not pairs:
        pairs = {None: (project_dir / "images", project_dir / "labels")}
    names = yolo_class_names(data_yaml)
    label_files = [p for _, labels in pairs.values() for p in labels.rglob("*.txt")]
    check_yolo_labels(label_files, names)
    _check_classes(classes, dict(zip(names, yolo_box_counts(label_files, len(names)))), data_yaml)
    label_of = {i: classes.index(n) if n in classes else None for i, n in enumerate(names)}
    parts = []
    for split, (images, labels) in pairs.items():
        try:
            _, paths, detections = load_yolo_annotations(str(images), str(labels), str(data_yaml))
        except ValueError as err:
            raise DatasetError(f"{data_yaml}: {err}") from None
        part = Project([], project_dir, list(classes))
        for path in paths:
            source, rel = image_source(str(Path(path).relative_to(project_dir)), project_dir, f"{images}: image")
            w, h = _image_size(Path(path))
            key = original_name(Path(path).relative_to(images).as_posix())  # the name within its images folder
            frame = Frame(rel, w, h, clip_of(key, clip_regex), split=split, source=source, key=key)
            det = detections[path]
            for (x0, y0, x1, y1), cid in zip(det.xyxy.tolist(), det.class_id.tolist()):
                where = f"{labels}: label of {Path(path).name} ({w}x{h})"
                _add_box(part, frame, label_of[int(cid)], names[int(cid)], [x0, y0, x1 - x0, y1 - y0], where)
            part.frames.append(frame)
        parts.append(part)
    return _merge(parts, project_dir, classes)


def _read_voc(project_dir: Path, classes: list[str], clip_regex: str) -> Project:
    """Pascal VOC XML (sizes from the XML's <size>), boxes parsed by supervision."""
    from defusedxml.ElementTree import parse
    from supervision.dataset.formats.pascal_voc import detections_from_xml_obj

    project = Project([], project_dir, list(classes))
    seen: set[str] = set()
    for xml_path in _voc_xml_files(project_dir):
        try:
            root = parse(str(xml_path)).getroot()
        except Exception as err:  # defusedxml raises several parser error types
            raise DatasetError(f"{xml_path}: invalid XML ({err})") from None
        name = root.findtext("filename") or ""
        candidates = [project_dir / "JPEGImages" / name, xml_path.parent / name, project_dir / name]
        image = next((c for c in candidates if name and c.is_file()), None)
        if image is None:
            raise DatasetError(f"{xml_path}: image {name!r} not found in JPEGImages/, beside the XML or in the project folder")
        relative_name = name if Path(name).is_absolute() else os.path.relpath(image, project_dir)
        source, rel = image_source(relative_name, project_dir, f"{xml_path}: <filename> {name!r}")
        check_voc_objects(root, xml_path)
        size = root.find("size")
        if size is not None and size.findtext("width") and int(size.findtext("width") or 0) > 0:
            w, h = int(size.findtext("width") or 0), int(size.findtext("height") or 0)
        else:
            w, h = _image_size(image)
        names: list[str] = []
        det, names = detections_from_xml_obj(root, names, (w, h))
        seen.update(names)
        # the name within the images folder: JPEGImages/, else the project (XML beside the images)
        jpeg_images = project_dir / "JPEGImages"
        folder = jpeg_images if (project_dir / rel).resolve().is_relative_to(jpeg_images.resolve()) else project_dir
        key = original_name(posixpath.relpath(rel, folder.relative_to(project_dir).as_posix()))
        frame = Frame(rel, w, h, clip_of(key, clip_regex), source=source, key=key)
        for (x0, y0, x1, y1), cid in zip(det.xyxy.tolist(), det.class_id.tolist()):
            cls = names[int(cid)]
            where = f"{xml_path}: object of class {cls!r} ({w}x{h})"
            _add_box(project, frame, classes.index(cls) if cls in classes else None, cls, [x0, y0, x1 - x0, y1 - y0], where)
        project.frames.append(frame)
    _check_classes(classes, {n: None for n in seen}, project_dir)
    project.frames.sort(key=lambda f: f.file_name)
    return project


# A grouping that leaves most clips with one frame has most likely not found the clips (a name pattern
# it does not know): checked from this many frames on, so that a tiny test project of stills passes.
MIN_FRAMES_FOR_CLIP_CHECK = 20


def _check_grouping(frames: list[Frame], by_clip: dict[str, list[Frame]], clip_rule: str) -> None:
    """Refuse a grouping in which more than half of the clips hold a single frame: near-identical
    neighbouring frames would then land on both sides of the split."""
    single = [members[0] for members in by_clip.values() if len(members) == 1]
    if len(frames) < MIN_FRAMES_FOR_CLIP_CHECK or len(single) * 2 <= len(by_clip):
        return
    example = single[0]
    raise DatasetError(
        f"the {len(frames)} frames form {len(by_clip)} clips, {len(single)} of them of a single frame (grouped by "
        f"{clip_rule}; e.g. frame {example.file_name!r} is in clip {example.clip!r}): neighbouring frames of one clip "
        "would land in train, valid and test. Set splits.clip_regex so that its `clip` group names each frame's clip "
        "(it is matched against the file name without extension and without exporter suffixes such as "
        r"Roboflow's _jpg.rf.<hash>; e.g. '^(?P<clip>.+?)_\d+$' for clipA_0001.jpg), or give the COCO images a "
        "video_id; for a project of truly independent photos, set splits.group_frames: false"
    )


def clip_groups(frames: list[Frame], group_frames: bool = True) -> dict[str, list[Frame]]:
    """Frames by clip; with `group_frames` false, every frame is a clip of its own (independent photos)."""
    by_clip: dict[str, list[Frame]] = defaultdict(list)
    for f in frames:
        by_clip[f.clip if group_frames else f.key].append(f)
    return by_clip


def split_by_clip(
    frames: list[Frame],
    valid_fraction: float,
    test_fraction: float,
    seed: int,
    clip_rule: str = Project.clip_rule,
    group_frames: bool = True,
) -> dict[str, list[str]]:
    """Assign whole clips to splits, in a seeded order, until each held-out split has its share.

    `clip_rule` says how the frames were grouped into clips, for the messages when the grouping looks
    wrong (mostly one-frame clips) or no split can be made. With `group_frames` false every frame is
    its own clip (a project of independent photos: said explicitly, never assumed)."""
    by_clip = clip_groups(frames, group_frames)
    if group_frames:
        _check_grouping(frames, by_clip, clip_rule)
    clips = sorted(by_clip, key=lambda c: unit_key(seed, "split", c))
    total = len(frames)
    targets = [("test", test_fraction * total), ("valid", valid_fraction * total)]
    splits: dict[str, list[str]] = {s: [] for s in SPLIT_NAMES}
    for clip in clips:
        members = [f.file_name for f in by_clip[clip]]
        for name, target in targets:
            have = len(splits[name])
            # take the clip while it brings the split closer to its target size
            closer = abs(have + len(members) - target) <= abs(have - target)
            if target > 0 and (have == 0 or (have < target and closer)):
                splits[name].extend(members)
                break
        else:
            splits["train"].extend(members)
    for name in SPLIT_NAMES:
        if not splits[name] and (name == "train" or dict(targets)[name] > 0):
            example = frames[0] if frames else None
            shown = f"; e.g. frame {example.file_name!r} is in clip {example.clip!r}" if example else ""
            raise DatasetError(
                f"split {name!r} has no frames: the {total} frame(s) form {len(clips)} clip(s), grouped by "
                f"{clip_rule}{shown} - too few clips for splits.valid_fraction {valid_fraction} and "
                f"splits.test_fraction {test_fraction}. Whole clips go to one split (no near-duplicate frames "
                "across splits): set splits.clip_regex so that its `clip` group tells your clips apart, or "
                "lower the fractions (for a project of independent photos: splits.group_frames: false)"
            )
        splits[name].sort()
    return splits


def split_statistics(
    frames: list[Frame], splits: dict[str, list[str]], clip_rule: str, group_frames: bool = True
) -> dict[str, Any]:
    """Frames and clips per split, how frames were grouped, and the clips found in more than one split
    (only an export's own splits can have those: a split by clip never does)."""
    split_of = {name: split for split in SPLIT_NAMES for name in splits[split]}
    clips_in: dict[str, set[str]] = defaultdict(set)
    for clip, members in clip_groups(frames, group_frames).items():
        for f in members:
            if f.file_name in split_of:
                clips_in[clip].add(split_of[f.file_name])
    return {
        "grouped_by": clip_rule if group_frames else "none (splits.group_frames: false: every frame is its own clip)",
        "frames": {s: len(splits[s]) for s in SPLIT_NAMES},
        "clips": {s: sum(s in where for where in clips_in.values()) for s in SPLIT_NAMES},
        "single_frame_clips": sum(len(m) == 1 for m in clip_groups(frames, group_frames).values()),
        "clips_in_several_splits": sorted(c for c, where in clips_in.items() if len(where) > 1),
    }


def _ranked(frames: Iterable[Frame], *key: object) -> list[Frame]:
    """Frames in the order of seeded keys of their frame keys: the one ranking behind every draw and repeat."""
    return sorted(frames, key=lambda f: unit_key(*key, f.key))


def _share(fraction: float, n: int) -> int:
    """round(fraction * n), halves up (not Python's round-half-to-even)."""
    return int(fraction * n + 0.5)


def _draw(frames: list[Frame], fraction: float, *key: object) -> set[str]:
    """The file names of the first round(fraction * n) frames in the ranking (at least one if fraction > 0)."""
    ranked = _ranked(frames, *key)
    count = _share(fraction, len(ranked))
    if count == 0 and ranked and fraction > 0:
        count = 1
    return {f.file_name for f in ranked[:count]}


FRAME_SAMPLING_MODES = ("union", "exact")
# A class keeping more than this share above its request (through frames drawn for other classes) is
# reported: a warning in the job's log, a note in the comparison.
OVER_KEPT_MARGIN = 0.05


@dataclass
class TrainingDraw:
    """The training frames one experiment keeps, and for each class what was asked and what was kept."""

    kept: list[str]
    per_class: dict[str, dict[str, Any]]

    def over_kept(self) -> list[str]:
        """Classes that keep clearly more than requested, through frames drawn for other classes."""
        return [
            c
            for c, s in self.per_class.items()
            if s["entered_through"] and s["kept_share"] > s["requested_share"] + OVER_KEPT_MARGIN
        ]


def draw_training_frames(
    frames: list[Frame],
    classes: list[str],
    fractions: dict[str, float],
    seed: int,
    background_fraction: float = 0.0,
    mode: str = "union",
) -> TrainingDraw:
    """Keep `fractions[c]` of the frames holding class c, for every class.

    Frames are ranked per class by a key drawn from (seed, class, frame key), and the first
    round(f * n) are drawn: exact counts, deterministic, and nested (a smaller fraction draws a
    subset of a larger one). `union` keeps every frame drawn for any class, so a frame holding two
    classes enters through either; `exact` keeps a frame only if, for each class it holds with a
    fraction below 1, it was drawn for that class. Of the frames holding none of the classes,
    `background_fraction` is kept. A fraction above 1 draws every frame (repeats: `frame_copies`).
    """
    if mode not in FRAME_SAMPLING_MODES:
        raise DatasetError(f"frame_sampling: {mode!r} is not allowed - one of: {', '.join(FRAME_SAMPLING_MODES)}")
    holding = {cls: [f for f in frames if label in f.labels()] for label, cls in enumerate(classes)}
    names_of = {cls: {f.file_name for f in holding[cls]} for cls in classes}
    drawn = {cls: _draw(holding[cls], min(fractions[cls], 1.0), seed, cls) for cls in classes}
    union = set().union(*drawn.values()) | _draw([f for f in frames if not f.boxes], background_fraction, seed, "\x00background")
    kept = union
    if mode == "exact":
        undrawn = set().union(*(names_of[c] - drawn[c] for c in classes if fractions[c] < 1))
        kept = union - undrawn
    per_class = {}
    for cls in classes:
        names = names_of[cls]
        kept_here = names & kept
        others = kept_here - drawn[cls]
        per_class[cls] = {
            "requested_fraction": fractions[cls],
            "requested_share": min(fractions[cls], 1.0),
            "frames_available": len(names),
            "frames_drawn": len(drawn[cls]),
            "frames_kept": len(kept_here),
            "kept_share": round(len(kept_here) / len(names), 4) if names else None,
            # frames of this class kept although not drawn for it: which classes' draws brought them
            "entered_through": {o: n for o in classes if o != cls and (n := len(others & drawn[o]))},
            # frames drawn for this class that exact sampling dropped for another class's request
            "dropped_by_exact": len((drawn[cls] & union) - kept),
        }
        if not kept_here:
            raise DatasetError(
                f"class {cls!r} has no training frames after sampling (fraction {fractions[cls]}, frame_sampling "
                f"{mode}, {len(names)} frames hold it before sampling)"
            )
    return TrainingDraw(sorted(kept), per_class)


def sample_training_frames(
    frames: list[Frame],
    classes: list[str],
    fractions: dict[str, float],
    seed: int,
    background_fraction: float = 0.0,
    mode: str = "union",
) -> list[str]:
    """The file names of the training frames `draw_training_frames` keeps."""
    return draw_training_frames(frames, classes, fractions, seed, background_fraction, mode).kept


REPEAT_MODES = {"sqrt": math.sqrt, "linear": lambda x: x}


def oversampling_factors(fractions: dict[str, float], oversample: dict[str, float]) -> dict[str, float]:
    """Each class's oversampling factor: its fraction when above 1, else its `oversample` entry, else 1."""
    return {c: f if f > 1 else float(oversample.get(c, 1.0)) for c, f in fractions.items()}


def class_repeat_factors(
    frames: list[Frame], copies: dict[str, int], classes: list[str], repeat_factor: dict[str, Any]
) -> dict[str, float]:
    """LVIS repeat factors per class: r_c = min(max_repeats, max(1, g(t / f_c))), where f_c is the share
    of training images (copies counted) holding class c and g is sqrt or the identity."""
    total = sum(copies[f.file_name] for f in frames)
    g = REPEAT_MODES[repeat_factor["mode"]]
    factors = {}
    for label, cls in enumerate(classes):
        share = sum(copies[f.file_name] for f in frames if label in f.labels()) / total if total else 0.0
        raw = g(repeat_factor["threshold"] / share) if share else 1.0
        factors[cls] = min(float(repeat_factor["max_repeats"]), max(1.0, raw))
    return factors


def frame_copies(
    frames: list[Frame],
    classes: list[str],
    fractions: dict[str, float],
    seed: int,
    oversample: dict[str, float] | None = None,
    repeat_factor: dict[str, Any] | None = None,
) -> tuple[dict[str, int], dict[str, float]]:
    """How many times each sampled training frame enters the training set, and the repeat factor of each class.

    Oversampling by factor o (a fraction above 1, or `oversample`): the frames holding the class each
    get floor(o) copies, and the first round((o - floor(o)) * n) of them in the draw's ranking one more
    (so the frames repeated at 1.5 are among those repeated at 1.75). A frame holding several classes
    gets the largest count of its classes. Repeat-factor sampling (Gupta et al., LVIS, 2019) then
    multiplies: r(I) = max over the classes c in frame I of r_c (`class_repeat_factors`, 1 for a
    frame with none), rounded to floor(r) or ceil(r) by a seeded draw per frame (ceil with
    probability r - floor(r)).
    """
    factors = oversampling_factors(fractions, oversample or {})
    copies = {f.file_name: 1 for f in frames}
    for label, cls in enumerate(classes):
        factor = factors[cls]
        if factor <= 1:
            continue
        ranked = _ranked((f for f in frames if label in f.labels()), seed, cls)  # the draw's order
        whole = int(factor)
        extra = _share(factor - whole, len(ranked))
        for rank, f in enumerate(ranked):
            copies[f.file_name] = max(copies[f.file_name], whole + (rank < extra))
    class_factors = {c: 1.0 for c in classes}
    if repeat_factor:
        class_factors = class_repeat_factors(frames, copies, classes, repeat_factor)
        for frame in frames:
            r = max((class_factors[classes[label]] for label in frame.labels()), default=1.0)
            whole = math.floor(r)
            repeats = whole + (unit_key(seed, "repeat_factor", frame.key) < r - whole)
            copies[frame.file_name] *= repeats
    return copies, class_factors


def assign_splits(
    frames: list[Frame],
    valid_fraction: float,
    test_fraction: float,
    seed: int,
    clip_rule: str = Project.clip_rule,
    group_frames: bool = True,
) -> dict[str, list[str]]:
    """The source's own splits when it has them (a missing valid or test split is carved from
    train by clip), else a split by clip."""
    if not any(f.split for f in frames):
        return split_by_clip(frames, valid_fraction, test_fraction, seed, clip_rule, group_frames)
    splits = {s: sorted(f.file_name for f in frames if f.split == s) for s in SPLIT_NAMES}
    missing = {s: frac for s, frac in (("valid", valid_fraction), ("test", test_fraction)) if not splits[s]}
    if missing:
        train = [f for f in frames if f.split == "train"]
        scale = len(frames) / max(len(train), 1)  # fractions are of the whole project
        carved = split_by_clip(
            train, missing.get("valid", 0) * scale, missing.get("test", 0) * scale, seed, clip_rule, group_frames
        )
        splits["train"] = carved["train"]
        for s in missing:
            splits[s] = carved[s]
    return splits


def link_file(src: Path, dst: Path, inside: Path) -> str:
    """Hard-link src to dst, a new file inside the folder `inside`; fall back to a symlink, then a copy.
    Return the method used. The source is only ever read, and nothing that exists is replaced."""
    if not src.is_file():
        raise DatasetError(f"image {src} does not exist (moved or deleted since the project was read?)")
    if not dst.resolve().is_relative_to(Path(inside).resolve()):
        raise DatasetError(f"image {src}: its dataset copy {dst} would lie outside the dataset folder {inside}")
    if dst.exists() or dst.is_symlink():
        # Never unlink: the destination may be, or lead to, a user's file.
        raise DatasetError(f"image {src}: its dataset copy {dst} exists already (two images with one name?)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
        return "hardlink"
    except OSError:
        pass
    try:
        dst.symlink_to(src.resolve())
        return "symlink"
    except OSError:
        shutil.copy2(src, dst)
        return "copy"


def coco_dict(frames: Iterable[Frame], classes: list[str]) -> dict[str, Any]:
    """A COCO dict with contiguous category ids 1..K in the order of `classes`."""
    images, annotations = [], []
    for image_id, frame in enumerate(frames, start=1):
        images.append({"id": image_id, "file_name": frame.file_name, "width": frame.width, "height": frame.height})
        for box in frame.boxes:
            x, y, w, h = (round(v, 3) for v in box.bbox)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": box.label + 1,
                    "bbox": [x, y, w, h],
                    "area": round(w * h, 3),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": c, "supercategory": "none"} for i, c in enumerate(classes)]
    return {"images": images, "annotations": annotations, "categories": categories}


def split_stats(frames: list[Frame], classes: list[str], copies: dict[str, int] | None = None) -> dict[str, Any]:
    """Frames and instances per class of one split; with `copies`, also counting repeated frames."""
    per_class: dict[str, dict[str, int]] = {
        c: {
            "frames": sum(label in f.labels() for f in frames),
            "instances": sum(b.label == label for f in frames for b in f.boxes),
        }
        for label, c in enumerate(classes)
    }
    stats: dict[str, Any] = {"frames": len(frames), "background_frames": sum(not f.boxes for f in frames)}
    if copies is not None:
        for label, c in enumerate(classes):
            per_class[c]["effective_frames"] = sum(copies[f.file_name] for f in frames if label in f.labels())
            per_class[c]["effective_instances"] = sum(
                copies[f.file_name] * sum(b.label == label for b in f.boxes) for f in frames
            )
        stats["effective_frames"] = sum(copies[f.file_name] for f in frames)
        histogram: dict[str, int] = defaultdict(int)
        for f in frames:
            histogram[str(copies[f.file_name])] += 1
        stats["copies_per_frame"] = dict(sorted(histogram.items(), key=lambda kv: int(kv[0])))
    stats["classes"] = per_class
    return stats


def achieved_ratios(
    stats: dict[str, Any], classes: list[str], units: tuple[str, ...] = ("frames", "instances")
) -> dict[str, dict[str, float | None]]:
    """Each class's share relative to the largest class, by each unit (frames, instances, ...)."""
    out: dict[str, dict[str, float | None]] = {}
    for unit in units:
        counts = {c: stats["classes"][c][unit] for c in classes}
        top = max(counts.values())
        out[unit] = {c: (round(n / top, 4) if top else None) for c, n in counts.items()}
    return out


def sampling_method(fractions: dict[str, float], oversample: dict[str, float], repeat_factor: dict | None) -> str:
    """How a training set was drawn, in words for tables: fractions, oversampling, repeat factor."""
    oversampled = any(f > 1 for f in oversampling_factors(fractions, oversample).values())
    parts = ["oversampling"] if oversampled else []
    parts += ["repeat factor"] if repeat_factor else []
    return " + ".join(parts) or "fractions"


def prepare_dataset(
    project: Project,
    splits: dict[str, list[str]],
    fractions: dict[str, float],
    seed: int,
    out_dir: Path,
    background_fraction: float = 0.0,
    oversample: dict[str, float] | None = None,
    repeat_factor: dict[str, Any] | None = None,
    frame_sampling: str = "union",
) -> dict[str, Any]:
    """Write the RF-DETR dataset layout (train sampled, valid/test whole) and return its statistics.

    Repeated training frames (oversampling, repeat-factor sampling: `frame_copies`) are repeated
    entries of the training COCO file (new image and annotation ids, one linked image file); the
    validation and test splits are never repeated. The folder is built beside `out_dir` and moved
    into place at the end: a failure leaves nothing half-written.
    """
    by_name = {f.file_name: f for f in project.frames}
    missing = [n for s in SPLIT_NAMES for n in splits[s] if n not in by_name]
    if missing:
        raise DatasetError(f"splits name {len(missing)} frame(s) the project does not have, e.g. {missing[0]}")
    draw = draw_training_frames(
        [by_name[n] for n in splits["train"]], project.classes, fractions, seed, background_fraction, frame_sampling
    )
    train_kept = draw.kept
    chosen = {"train": train_kept, "valid": splits["valid"], "test": splits["test"]}
    oversample = oversample or {}
    copies, class_factors = frame_copies(
        [by_name[n] for n in train_kept], project.classes, fractions, seed, oversample, repeat_factor
    )
    stats: dict[str, Any] = {
        "classes": project.classes,
        "nominal_fractions": fractions,
        "frame_sampling": frame_sampling,
        # per class: the fraction asked for, the frames available, drawn and kept, and the kept share
        "per_class_sampling": draw.per_class,
        "over_kept_classes": draw.over_kept(),
        "background_fraction": background_fraction,
        "sampling_method": sampling_method(fractions, oversample, repeat_factor),
        "oversampling_factors": oversampling_factors(fractions, oversample),
        "repeat_factor": repeat_factor,
        "class_repeat_factors": class_factors,
        "seed": seed,
        "clipped_boxes": project.clipped_boxes,
        "dropped_annotations": project.dropped_annotations,
        "dropped_annotations_by_category": dict(sorted(project.dropped_by_category.items())),
        "dropped_degenerate_boxes": len(project.degenerate_boxes),
        "degenerate_box_examples": project.degenerate_boxes[:10],
        "splits": {},
    }
    methods: set[str] = set()
    out_dir = Path(out_dir)
    with written_whole(out_dir) as partial:
        for split, names in chosen.items():
            frames = [by_name[n] for n in names]
            split_dir = partial / split
            split_dir.mkdir(parents=True, exist_ok=True)
            for frame in frames:
                methods.add(link_file(project.source_of(frame), split_dir / frame.file_name, split_dir))
            entries = [f for f in frames for _ in range(copies[f.file_name])] if split == "train" else frames
            with open(split_dir / SPLIT_ANNOTATIONS_NAME, "w") as f:
                json.dump(coco_dict(entries, project.classes), f)
            stats["splits"][split] = split_stats(frames, project.classes, copies if split == "train" else None)
    stats["splits"]["train"]["available_before_sampling"] = split_stats([by_name[n] for n in splits["train"]], project.classes)
    stats["achieved_ratio"] = achieved_ratios(stats["splits"]["train"], project.classes)
    effective = ("effective_frames", "effective_instances")
    by_copies = achieved_ratios(stats["splits"]["train"], project.classes, effective)
    stats["achieved_ratio_effective"] = {unit.removeprefix("effective_"): v for unit, v in by_copies.items()}
    stats["image_link_method"] = sorted(methods)
    stats["train_frames"] = train_kept
    return stats


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def sampling_warnings(stats: dict[str, Any]) -> list[str]:
    """One `warning:` line per class that keeps clearly more training frames than requested (frames
    drawn for other classes hold it too), and per class that lost frames to `frame_sampling: exact`."""
    lines = []
    per_class = stats["per_class_sampling"]
    for cls in stats["over_kept_classes"]:
        s = per_class[cls]
        through = ", ".join(f"{o!r} ({n})" for o, n in s["entered_through"].items())
        lines.append(
            f"warning: class {cls!r} keeps {_percent(s['kept_share'])} of its training frames ({s['frames_kept']} of "
            f"{s['frames_available']}), not the {_percent(s['requested_share'])} requested ({s['frames_drawn']}): "
            f"{s['frames_kept'] - s['frames_drawn']} more entered through frames drawn for {through} "
            "(frame_sampling: union); frame_sampling: exact keeps the request"
        )
    for cls, s in per_class.items():
        if s["dropped_by_exact"]:
            lines.append(
                f"warning: class {cls!r} lost {s['dropped_by_exact']} training frame(s) to frame_sampling: exact "
                f"(frames that also hold a class they were not drawn for): it keeps {_percent(s['kept_share'])} "
                f"({s['frames_kept']} of {s['frames_available']}), {_percent(s['requested_share'])} requested"
            )
    return lines


def degenerate_box_warning(project: Project) -> str | None:
    """The `warning:` line of a project whose boxes of zero width or height were dropped, or None."""
    boxes = project.degenerate_boxes
    if not boxes:
        return None
    more = f" and {len(boxes) - 1} more" if len(boxes) > 1 else ""
    return (
        f"warning: {len(boxes)} box(es) of zero width or height dropped (not an object to learn), e.g. {boxes[0]}{more} "
        "- degenerate_boxes: refuse stops instead"
    )


def read_project_of(args: Any, log: Callable[[str], None] = print) -> Project:
    """read_project with the project arguments of an entry script (cli.add_project_arguments and
    --clip-regex), logging the warning about dropped degenerate boxes."""
    project = read_project(
        args.project_dir,
        args.classes,
        args.clip_regex,
        args.format,
        args.annotations_file,
        args.images_dir,
        args.degenerate_boxes,
    )
    warning = degenerate_box_warning(project)
    if warning:
        log(warning)
    return project
