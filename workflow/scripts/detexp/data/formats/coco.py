"""COCO projects: one COCO file (images in `images_dir`), or a Roboflow COCO export (train/ valid/
test/ folders, each with its own COCO file: the export's own splits)."""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from ...layout import SPLIT_ANNOTATIONS_NAME
from ..project import Frame, Project, add_box, check_classes, clip_of, merge_projects, original_name, split_dirs
from ..sources import DatasetError, fail_with, image_source, load_json


def _describe_entry(coco: dict[str, Any], key: str, index: int) -> str:
    """`images[3] (id 7, 'a.jpg')`: where an entry is, by position and id, for messages."""
    entry = coco[key][index] if isinstance(coco.get(key), list) and index < len(coco[key]) else None
    if not isinstance(entry, dict):
        return f"{key}[{index}]"
    details = [f"id {entry['id']!r}"] if "id" in entry else []
    if key == "images" and isinstance(entry.get("file_name"), str):
        details.append(repr(entry["file_name"]))
    return f"{key}[{index}] ({', '.join(details)})" if details else f"{key}[{index}]"


def _schema_problems(coco: Any) -> list[str]:
    import jsonschema

    from ...schemas import load_schema

    validator = jsonschema.Draft202012Validator(load_schema("coco_annotations.schema.yaml"))
    problems = []
    for error in sorted(validator.iter_errors(coco), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        if len(path) >= 2 and isinstance(path[1], int):
            where = _describe_entry(coco, str(path[0]), path[1])
            rest = ".".join(map(str, path[2:]))
        else:
            where, rest = ".".join(map(str, path)) or "(top level)", ""
        problems.append(f"{where}: {rest + ': ' if rest else ''}{error.message}")
    return problems


def _duplicate_ids(coco: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("images", "annotations", "categories"):
        counts = Counter(entry["id"] for entry in coco[key])
        problems += [f"{key}: id {i!r} is used by {n} entries - ids must be unique" for i, n in counts.items() if n > 1]
    ids_of_name: dict[str, list[Any]] = {}
    for img in coco["images"]:
        ids_of_name.setdefault(img["file_name"], []).append(img["id"])
    problems += [
        f"images: file_name {name!r} appears in {len(ids)} entries (ids {', '.join(map(repr, ids))}) - one entry per image"
        for name, ids in ids_of_name.items()
        if len(ids) > 1
    ]
    return problems


def check_bbox(bbox: list[float]) -> str | None:
    """Why a COCO [x, y, width, height] box cannot be used, or None."""
    if not all(math.isfinite(v) for v in bbox):
        return f"bbox {bbox} holds a number that is not finite"
    if bbox[2] < 0 or bbox[3] < 0:
        return f"bbox {bbox} has a width or height < 0 (COCO boxes are [x, y, width, height])"
    return None  # a width or height of 0 is a degenerate box: dropped and counted by the reader


def validate_coco(coco: Any, path: Path) -> None:
    """Check a COCO file's structure (schema), unique ids, references and boxes; raise naming each problem."""
    problems = _schema_problems(coco)
    fail_with(path, problems)
    problems = _duplicate_ids(coco)
    image_ids = {img["id"] for img in coco["images"]}
    category_ids = {c["id"] for c in coco["categories"]}
    known = ", ".join(f"{c['id']!r} {c['name']!r}" for c in coco["categories"])
    for index, ann in enumerate(coco["annotations"]):
        where = _describe_entry(coco, "annotations", index)
        if ann["image_id"] not in image_ids:
            problems.append(f"{where}: image_id {ann['image_id']!r} is not the id of any image in this file")
        if ann["category_id"] not in category_ids:
            problems.append(f"{where}: category_id {ann['category_id']!r} is not a category of this file ({known})")
        reason = check_bbox([float(v) for v in ann["bbox"]])
        if reason:
            problems.append(f"{where}: {reason}")
    fail_with(path, problems)


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
    check_classes(classes, {n: boxes_of[n] for n in name_of.values() if boxes_of[n] or n not in parents}, ann_path)
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
        add_box(project, frame, label_of_name.get(category), category, [float(v) for v in ann["bbox"]], where)
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


def read_roboflow_project(project_dir: Path, classes: list[str], clip_regex: str) -> Project:
    """A Roboflow COCO export: each split folder's COCO file, the frames keeping their split."""
    parts = [
        read_coco_project(d / SPLIT_ANNOTATIONS_NAME, d, classes, clip_regex, prefix=f"{d.name}/", split=split)
        for split, d in split_dirs(project_dir).items()
        if (d / SPLIT_ANNOTATIONS_NAME).is_file()
    ]
    return merge_projects(parts, project_dir, classes)
