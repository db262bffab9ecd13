"""Reading a labelled COCO project, splitting it by clip and sampling training frames per class.

No image is decoded here: sizes come from the annotation file and images are linked, not copied.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

SPLITS = ("train", "valid", "test")
ANNOTATIONS_NAME = "_annotations.coco.json"  # the name RF-DETR expects in each split folder


class DatasetError(ValueError):
    """The project or the sampling cannot give a valid dataset; the message says why and where."""


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

    def labels(self) -> set[int]:
        return {b.label for b in self.boxes}


@dataclass
class Project:
    """A project read from disk: its frames and where their images are."""

    frames: list[Frame]
    image_root: Path
    classes: list[str]
    clipped_boxes: int = 0
    dropped_annotations: int = 0


def unit_key(*parts: object) -> float:
    """A deterministic uniform number in [0, 1) for the given parts (stable across runs and machines)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def clip_of(file_name: str, clip_regex: str) -> str:
    """The clip a frame belongs to: the regex's `clip` group on the name without extension."""
    stem = Path(file_name).with_suffix("").as_posix()
    match = re.match(clip_regex, stem)
    if not match:
        return stem
    return match.groupdict().get("clip") or match.group(0)


def _load_json(path: Path) -> Any:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise DatasetError(f"{path}: annotation file not found") from None
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None


def _clip_box(bbox: list[float], width: int, height: int) -> tuple[list[float], bool]:
    x, y, w, h = (float(v) for v in bbox)
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    clipped = [x0, y0, x1 - x0, y1 - y0]
    return clipped, clipped != [x, y, w, h]


def read_coco_project(annotations: Path, image_root: Path, classes: list[str], clip_regex: str) -> Project:
    """Read a COCO project, keeping only the configured classes (others are dropped).

    `image_root` is the folder the images' `file_name` entries are relative to (subfolders allowed).
    """
    ann_path, image_root = Path(annotations), Path(image_root)
    if not ann_path.parent.is_dir():
        raise DatasetError(f"project folder {ann_path.parent} does not exist or is not a folder")
    coco = _load_json(ann_path)
    for key in ("images", "annotations", "categories"):
        if not isinstance(coco.get(key), list):
            raise DatasetError(f"{ann_path}: missing the COCO list {key!r}")
    name_of = {c["id"]: c["name"] for c in coco["categories"]}
    label_of_name = {name: i for i, name in enumerate(classes)}
    absent = [c for c in classes if c not in name_of.values()]
    if absent:
        raise DatasetError(
            f"{ann_path}: class(es) {', '.join(map(repr, absent))} not in the project - "
            f"it has: {', '.join(sorted(set(name_of.values())))}"
        )
    frames: dict[Any, Frame] = {}
    for img in coco["images"]:
        file_name = img["file_name"]
        if not (image_root / file_name).is_file():
            raise DatasetError(f"{ann_path}: image id {img['id']} refers to {image_root / file_name}, which does not exist")
        clip = str(img["video_id"]) if "video_id" in img else clip_of(file_name, clip_regex)
        frames[img["id"]] = Frame(file_name, int(img["width"]), int(img["height"]), clip)
    project = Project([], image_root, list(classes))
    for ann in coco["annotations"]:
        frame = frames.get(ann["image_id"])
        if frame is None:
            raise DatasetError(f"{ann_path}: annotation id {ann.get('id')} points at missing image id {ann['image_id']}")
        label = label_of_name.get(name_of.get(ann["category_id"]))
        if label is None:
            project.dropped_annotations += 1
            continue
        bbox, was_clipped = _clip_box(ann["bbox"], frame.width, frame.height)
        project.clipped_boxes += was_clipped
        if bbox[2] <= 0 or bbox[3] <= 0:
            project.dropped_annotations += 1
            continue
        frame.boxes.append(Box(label, bbox))
    project.frames = sorted(frames.values(), key=lambda f: f.file_name)
    return project


def split_by_clip(
    frames: list[Frame], valid_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[str]]:
    """Assign whole clips to splits, in a seeded order, until each held-out split has its share."""
    by_clip: dict[str, list[str]] = defaultdict(list)
    for f in frames:
        by_clip[f.clip].append(f.file_name)
    clips = sorted(by_clip, key=lambda c: unit_key(seed, "split", c))
    total = len(frames)
    targets = [("test", test_fraction * total), ("valid", valid_fraction * total)]
    splits: dict[str, list[str]] = {s: [] for s in SPLITS}
    for clip in clips:
        for name, target in targets:
            have = len(splits[name])
            # take the clip while it brings the split closer to its target size
            closer = abs(have + len(by_clip[clip]) - target) <= abs(have - target)
            if target > 0 and (have == 0 or (have < target and closer)):
                splits[name].extend(by_clip[clip])
                break
        else:
            splits["train"].extend(by_clip[clip])
    for name in SPLITS:
        if not splits[name] and (name == "train" or dict(targets)[name] > 0):
            raise DatasetError(
                f"split {name!r} has no frames: {len(clips)} clip(s) are too few for valid_fraction "
                f"{valid_fraction} and test_fraction {test_fraction}"
            )
        splits[name].sort()
    return splits


def sample_training_frames(
    frames: list[Frame], classes: list[str], fractions: dict[str, float], seed: int
) -> list[str]:
    """Keep `fractions[c]` of the frames holding class c, for every class; return the union.

    Frames are ranked per class by a key drawn from (seed, class, file name), and the first
    round(f * n) are kept: exact counts, deterministic, and nested (a smaller fraction keeps a
    subset of a larger one). Frames holding none of the classes are dropped.
    """
    kept: set[str] = set()
    for label, cls in enumerate(classes):
        holders = sorted((f.file_name for f in frames if label in f.labels()), key=lambda n: unit_key(seed, cls, n))
        count = int(fractions[cls] * len(holders) + 0.5)
        if count == 0 and holders and fractions[cls] > 0:
            count = 1  # a positive fraction of a non-empty class keeps at least one frame
        kept.update(holders[:count])
    for label, cls in enumerate(classes):
        if not any(label in f.labels() for f in frames if f.file_name in kept):
            raise DatasetError(
                f"class {cls!r} has no training frames after sampling (fraction {fractions[cls]}, "
                f"{sum(label in f.labels() for f in frames)} frames hold it before sampling)"
            )
    return sorted(kept)


def link_file(src: Path, dst: Path) -> str:
    """Hard-link src to dst; fall back to a symlink, then a copy. Return the method used."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        dst.unlink()
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


def split_stats(frames: list[Frame], classes: list[str]) -> dict[str, Any]:
    """Frames and instances per class of one split."""
    per_class = {
        c: {
            "frames": sum(label in f.labels() for f in frames),
            "instances": sum(b.label == label for f in frames for b in f.boxes),
        }
        for label, c in enumerate(classes)
    }
    return {"frames": len(frames), "background_frames": sum(not f.boxes for f in frames), "classes": per_class}


def achieved_ratios(stats: dict[str, Any], classes: list[str]) -> dict[str, dict[str, float | None]]:
    """Each class's share relative to the largest class, by frames and by instances."""
    out: dict[str, dict[str, float | None]] = {}
    for unit in ("frames", "instances"):
        counts = {c: stats["classes"][c][unit] for c in classes}
        top = max(counts.values())
        out[unit] = {c: (round(n / top, 4) if top else None) for c, n in counts.items()}
    return out


def prepare_dataset(
    project: Project,
    splits: dict[str, list[str]],
    fractions: dict[str, float],
    seed: int,
    out_dir: Path,
) -> dict[str, Any]:
    """Write the RF-DETR dataset layout (train sampled, valid/test whole) and return its statistics."""
    by_name = {f.file_name: f for f in project.frames}
    missing = [n for s in SPLITS for n in splits[s] if n not in by_name]
    if missing:
        raise DatasetError(f"splits name {len(missing)} frame(s) the project does not have, e.g. {missing[0]}")
    train_kept = sample_training_frames([by_name[n] for n in splits["train"]], project.classes, fractions, seed)
    chosen = {"train": train_kept, "valid": splits["valid"], "test": splits["test"]}
    stats: dict[str, Any] = {
        "classes": project.classes,
        "nominal_fractions": fractions,
        "seed": seed,
        "clipped_boxes": project.clipped_boxes,
        "dropped_annotations": project.dropped_annotations,
        "splits": {},
    }
    methods: set[str] = set()
    for split, names in chosen.items():
        frames = [by_name[n] for n in names]
        split_dir = Path(out_dir) / split
        split_dir.mkdir(parents=True, exist_ok=True)
        for frame in frames:
            methods.add(link_file(project.image_root / frame.file_name, split_dir / frame.file_name))
        with open(split_dir / ANNOTATIONS_NAME, "w") as f:
            json.dump(coco_dict(frames, project.classes), f)
        stats["splits"][split] = split_stats(frames, project.classes)
    stats["splits"]["train"]["available_before_sampling"] = split_stats(
        [by_name[n] for n in splits["train"]], project.classes
    )
    stats["achieved_ratio"] = achieved_ratios(stats["splits"]["train"], project.classes)
    stats["image_link_method"] = sorted(methods)
    stats["train_frames"] = train_kept
    return stats
