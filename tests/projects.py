"""Labelled projects and settings the tests generate: small, real (images on disk, valid COCO files)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

import hashlib
import os

from detexp.data.formats.coco import read_coco_project
from detexp.data.project import Box, Frame
from detexp.schemas import schema_default

CLASSES = ["crane hook", "person"]
# The clip of a frame name: all but its trailing frame number (clip03_0007.jpg -> clip03).
CLIP_REGEX = r"^(?P<clip>.*?)[_-]?\d+$"
# The workflow's own default (splits.clip_regex), which knows exporters' frame names.
DEFAULT_CLIP_REGEX = schema_default("splits.clip_regex")
# RF-DETR Nano from scratch at 64 px: a real training of seconds per epoch on 2 cores.
TINY_TRAINING = {
    "model": "nano",
    "epochs": 8,
    "batch_size": 4,
    "lr": 1e-4,
    "image_size": 64,
    "patience": 1,
    "pretrain_weights": None,
    "multi_scale": False,
    "num_workers": 0,
    "num_queries": 30,  # as the demo: 30 queries in one group, not 300 in 13 (about 6x faster on a CPU)
    "group_detr": 1,
    "extra": {},
}


def frame(name: str, *labels: int, clip: str = "c") -> Frame:
    """A 100x100 frame of clip `clip` with one 10x10 box per label."""
    return Frame(name, 100, 100, clip, [Box(label, [1, 1, 10, 10]) for label in labels])


def write_clip_project(root: Path, clips: int = 8, per_clip: int = 3) -> None:
    """A COCO project of `clips` clips of `per_clip` 64x48 frames (c<clip>_<t>.jpg), each frame with one or
    both classes."""
    images, annotations = [], []
    for c in range(clips):
        for t in range(per_clip):
            image_id = len(images) + 1
            name = f"img/c{c}_{t}.jpg"
            (root / "img").mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / name), np.full((48, 64, 3), 20 * t + c, np.uint8))
            images.append({"id": image_id, "file_name": name, "width": 64, "height": 48})
            labels = [1, 2] if image_id % 4 == 0 else [1 + image_id % 2]
            for category in labels:
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": category,
                        "bbox": [4 + 10 * category, 6, 16, 12],
                    }
                )
    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "crane hook"}, {"id": 2, "name": "person"}],
    }
    (root / "_annotations.coco.json").write_text(json.dumps(coco))


def write_image(path: Path, width: int = 64, height: int = 48) -> Path:
    """A black JPEG (or PNG, by suffix) of the given size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((height, width, 3), np.uint8))
    return path


def coco_file(path: Path, file_names: list[str], labels: list[list[int]], classes: list[str] = CLASSES) -> None:
    """A COCO file with 64x48 images, one 10x10 box per label (category ids 1.. in `classes` order)."""
    images = [{"id": i + 1, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(file_names)]
    annotations = []
    for i, frame_labels in enumerate(labels):
        for label in frame_labels:
            box = [2 + 20 * label, 2, 10, 10]
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": label + 1, "bbox": box})
    categories = [{"id": i + 1, "name": c, "supercategory": "none"} for i, c in enumerate(classes)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))


def shaded_image(path: Path, shade: int) -> None:
    """A 32x24 JPEG of one grey level (distinct files for distinct shades)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((24, 32, 3), shade, np.uint8))


def coco_project(root: Path, clips: int = 8, frames: int = 3) -> dict:
    """A COCO project of real JPEGs under root/images: hooks in even frames, people in odd, a truck
    in every third (a category outside the study's classes). Returns the COCO dict (also written)."""
    images, annotations = [], []
    for c in range(clips):
        for t in range(frames):
            image_id = len(images) + 1
            name = f"images/clip{c}_{t}.jpg"
            shaded_image(root / name, 10 * image_id)
            images.append({"id": image_id, "file_name": name, "width": 32, "height": 24})
            category = 1 if image_id % 2 == 0 else 2
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category, "bbox": [2, 2, 10, 8]})
            if image_id % 3 == 0:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 3, "bbox": [1, 1, 5, 5]})
    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "crane hook"}, {"id": 2, "name": "person"}, {"id": 3, "name": "truck"}],
    }
    write_coco(root, coco)
    return coco


def write_coco(root: Path, coco: dict) -> None:
    (root / "_annotations.coco.json").write_text(json.dumps(coco, indent=1))


def snapshot(*roots: Path) -> dict[str, tuple]:
    """Every file and link under the roots: (kind, content digest or link target, inode)."""
    seen = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(folder) / name
                st = path.lstat()
                if path.is_symlink():
                    seen[str(path)] = ("link", os.readlink(path), st.st_ino)
                elif path.is_file():
                    seen[str(path)] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), st.st_ino)
                else:
                    seen[str(path)] = ("dir", None, None)
    return seen


def yolo_project(root: Path, names: str = "[crane hook, person]") -> Path:
    """A flat YOLO project of 12 frames in 4 clips, one box each (classes alternate)."""
    root.mkdir(parents=True)
    (root / "data.yaml").write_text(f"names: {names}\n")
    for i in range(12):
        shaded_image(root / "images" / f"clip{i // 3}_{i}.jpg", i)
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"clip{i // 3}_{i}.txt").write_text(f"{i % 2} 0.5 0.5 0.2 0.3\n")
    return root


def write_undecoded_project(root: Path, coco: dict, images=("img/a_1.jpg", "img/a_2.jpg")) -> Path:
    """A COCO project whose image files hold bytes no decoder reads (sizes come from the COCO file)."""
    for name in images:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"not decoded")
    (root / "_annotations.coco.json").write_text(json.dumps(coco))
    return root


def coco_of(names: list[str], categories: list[dict], annotations: list[dict]) -> dict:
    """A COCO dict whose images are `names`, all 64x48."""
    images = [{"id": i, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(names)]
    return {"categories": categories, "images": images, "annotations": annotations}


def read_coco(root: Path):
    """The COCO project at root (its _annotations.coco.json), read with CLIP_REGEX."""
    return read_coco_project(root / "_annotations.coco.json", root, CLASSES, CLIP_REGEX)


def roboflow_name(name: str) -> str:
    """How a Roboflow export renames clipA_0001.jpg: clipA_0001_jpg.rf.<32 hex>.jpg."""
    stem, ext = name.rsplit(".", 1)
    return f"{stem}_{ext}.rf.{hashlib.md5(name.encode()).hexdigest()}.{ext}"


def labelimg_voc(root: Path, annotations: str, images: str, names=("00001.jpg", "00002.jpg")) -> None:
    """A project as labelImg exports it: one XML per photo in `annotations`, the photos in `images`."""
    for name in names:
        write_image(root / images / name, 80, 60)
        (root / annotations).mkdir(parents=True, exist_ok=True)
        (root / annotations / name.replace(".jpg", ".xml")).write_text(
            f"<annotation><folder>{images}</folder><filename>{name}</filename><size><width>80</width><height>60</height>"
            "</size><object><name>person</name><bndbox><xmin>11</xmin><ymin>11</ymin><xmax>30</xmax><ymax>40</ymax>"
            "</bndbox></object><object><name>crane hook</name><bndbox><xmin>41</xmin><ymin>1</ymin><xmax>60</xmax>"
            "<ymax>20</ymax></bndbox></object></annotation>"
        )
