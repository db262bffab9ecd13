"""Labelled projects and settings the tests generate: small, real (images on disk, valid COCO files)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from detexp.project import Box, Frame

CLASSES = ["crane hook", "person"]
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


def write_image(path: Path, width: int = 64, height: int = 48) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((height, width, 3), np.uint8))


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
