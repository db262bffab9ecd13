"""sources: a user's files are data, not instructions - image paths stay inside their root, a YOLO
data.yaml's class count must match its names."""

from __future__ import annotations
import json
from pathlib import Path
import cv2
import numpy as np
import pytest


def write_image(path: Path, shade: int) -> None:
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
            write_image(root / name, 10 * image_id)
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


def test_a_relative_name_through_a_symlink_out_of_the_images_folder_fails(tmp_path):
    from detexp.formats import read_project
    from detexp.sources import DatasetError

    project = tmp_path / "proj"
    coco = coco_project(project)
    (tmp_path / "other").mkdir()
    write_image(tmp_path / "other" / "z.jpg", 3)
    (project / "images" / "link").symlink_to(tmp_path / "other")
    coco["images"][0]["file_name"] = "images/link/z.jpg"
    write_coco(project, coco)
    with pytest.raises(
        DatasetError, match=r"file_name 'images/link/z.jpg' resolves to .*/other/z.jpg, outside the images folder"
    ):
        read_project(project, ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")


def yolo_project(root: Path, names: str = "[crane hook, person]") -> Path:
    root.mkdir(parents=True)
    (root / "data.yaml").write_text(f"names: {names}\n")
    for i in range(12):
        write_image(root / "images" / f"clip{i // 3}_{i}.jpg", i)
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"clip{i // 3}_{i}.txt").write_text(f"{i % 2} 0.5 0.5 0.2 0.3\n")
    return root


def test_yolo_nc_must_match_names(tmp_path):
    from detexp.formats import read_project
    from detexp.sources import DatasetError

    project = yolo_project(tmp_path / "yolo")
    (project / "data.yaml").write_text("nc: 3\nnames: [crane hook, person]\n")
    with pytest.raises(DatasetError, match="data.yaml: nc is 3 but names lists 2 classes"):
        read_project(project, ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")
