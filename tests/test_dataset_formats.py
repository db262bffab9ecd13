"""Every supported project layout, pre-split sources, background frames and all-or-nothing writes."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from detexp.dataset import prepare_dataset
from detexp.formats import detect_format, project_sources, read_project
from detexp.project import Box, Frame
from detexp.sampling import assign_splits, sample_training_frames
from detexp.sources import DatasetError

CLASSES = ["crane hook", "person"]
CLIP_REGEX = r"^(?P<clip>.*?)[_-]?\d+$"


def image(path: Path, width: int = 64, height: int = 48) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((height, width, 3), np.uint8))
    return path


def coco(file_names, boxes) -> dict:
    return {
        "categories": [
            {"id": 0, "name": "root", "supercategory": "none"},
            {"id": 1, "name": "crane hook", "supercategory": "root"},
            {"id": 2, "name": "person", "supercategory": "root"},
        ],
        "images": [{"id": i, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(file_names)],
        "annotations": [{"id": k, "image_id": i, "category_id": c, "bbox": b} for k, (i, c, b) in enumerate(boxes)],
    }


def test_roboflow_export_keeps_its_splits(tmp_path):
    for split, n in (("train", 4), ("valid", 2), ("test", 2)):
        names = [f"{split}_clip_{i}.jpg" for i in range(n)]
        for name in names:
            image(tmp_path / split / name)
        boxes = [(i, 1 + i % 2, [2, 2, 10, 10]) for i in range(n)]
        (tmp_path / split / "_annotations.coco.json").write_text(json.dumps(coco(names, boxes)))
    assert detect_format(tmp_path) == "roboflow"
    assert len(project_sources(tmp_path, "roboflow")) == 3
    project = read_project(tmp_path, CLASSES, CLIP_REGEX)
    assert project.image_root == tmp_path
    splits = assign_splits(project.frames, 0.2, 0.2, seed=0)
    assert splits["valid"] == ["valid/valid_clip_0.jpg", "valid/valid_clip_1.jpg"]
    assert len(splits["train"]) == 4 and len(splits["test"]) == 2
    assert all((project.image_root / f.file_name).is_file() for f in project.frames)


def test_presplit_source_without_test_split_gets_one_carved_from_train_by_clip(tmp_path):
    frames = [
        Frame(f"train/c{c}_{t}.jpg", 64, 48, f"c{c}", [Box(c % 2, [1, 1, 5, 5])], split="train")
        for c in range(8)
        for t in range(3)
    ]
    frames += [Frame(f"valid/v_{t}.jpg", 64, 48, "v", [Box(0, [1, 1, 5, 5])], split="valid") for t in range(6)]
    splits = assign_splits(frames, 0.2, 0.2, seed=3)
    assert len(splits["valid"]) == 6
    assert len(splits["test"]) == 6  # 0.2 of 30 frames, whole clips of 3
    test_clips = {n.split("/")[1].split("_")[0] for n in splits["test"]}
    train_clips = {n.split("/")[1].split("_")[0] for n in splits["train"]}
    assert not test_clips & train_clips


def test_yolo_dataset(tmp_path):
    (tmp_path / "data.yaml").write_text("names: [person, truck, crane hook]\n")
    for split in ("train", "val"):
        for i in range(2):
            image(tmp_path / "images" / split / f"{split}_{i}.png", 100, 50)
            # class 0 = person, centre (0.5, 0.5), size 0.2 x 0.4 -> xyxy 40,15,60,35; class 1 is not configured
            (tmp_path / "labels" / split).mkdir(parents=True, exist_ok=True)
            (tmp_path / "labels" / split / f"{split}_{i}.txt").write_text(
                "0 0.5 0.5 0.2 0.4\n1 0.5 0.5 0.1 0.1\n2 0.1 0.1 0.1 0.1\n"
            )
    assert detect_format(tmp_path) == "yolo"
    project = read_project(tmp_path, CLASSES, CLIP_REGEX)
    frame = next(f for f in project.frames if f.file_name == "images/train/train_0.png")
    assert (frame.width, frame.height) == (100, 50)
    assert frame.split == "train"
    person = next(b for b in frame.boxes if b.label == 1)
    assert person.bbox == pytest.approx([40, 15, 20, 20])
    assert {f.split for f in project.frames} == {"train", "valid"}
    assert project.dropped_annotations == 4  # the truck boxes
    with pytest.raises(
        DatasetError, match=r"'helmet' not in the project - it has: crane hook \(4 boxes\), person \(4 boxes\), truck \(4 boxes\)"
    ):
        read_project(tmp_path, ["helmet"], CLIP_REGEX)


def test_pascal_voc_dataset_reads_sizes_from_xml(tmp_path):
    for i in range(2):
        image(tmp_path / "JPEGImages" / f"clip_{i}.jpg", 80, 60)
        (tmp_path / "Annotations").mkdir(exist_ok=True)
        (tmp_path / "Annotations" / f"clip_{i}.xml").write_text(
            f"""<annotation><filename>clip_{i}.jpg</filename><size><width>80</width><height>60</height><depth>3</depth></size>
            <object><name>crane hook</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
            <object><name>person</name><bndbox><xmin>70</xmin><ymin>50</ymin><xmax>90</xmax><ymax>60</ymax></bndbox></object>
            </annotation>"""
        )
    assert detect_format(tmp_path) == "voc"
    project = read_project(tmp_path, CLASSES, CLIP_REGEX)
    frame = project.frames[0]
    assert frame.file_name == "JPEGImages/clip_0.jpg" and (frame.width, frame.height) == (80, 60)
    hook = next(b for b in frame.boxes if b.label == 0)
    assert hook.bbox == pytest.approx([10, 20, 20, 20])  # 1-based VOC pixels -> 0-based
    person = next(b for b in frame.boxes if b.label == 1)
    assert person.bbox[0] + person.bbox[2] <= 80  # clipped to the image
    assert project.clipped_boxes == 2


def test_unknown_layout_is_explained(tmp_path):
    (tmp_path / "readme.txt").write_text("")
    with pytest.raises(DatasetError, match="no known dataset layout"):
        detect_format(tmp_path)


def test_coco_file_with_video_id_and_subfolders(tmp_path):
    names = ["a/x/f_1.jpg", "a/x/f_2.jpg"]
    for n in names:
        image(tmp_path / "imgs" / n)
    data = coco(names, [(0, 2, [1, 1, 5, 5])])
    data["images"][0]["video_id"] = 7
    data["images"][1]["video_id"] = 7
    (tmp_path / "export.json").write_text(json.dumps(data))
    assert detect_format(tmp_path) == "coco"
    project = read_project(tmp_path, CLASSES, CLIP_REGEX, images_dir="imgs")
    assert {f.clip for f in project.frames} == {"7"}
    assert project.image_root == tmp_path / "imgs"


def test_background_fraction_keeps_some_empty_frames():
    frames = [Frame(f"p{i}", 10, 10, "c", [Box(1, [1, 1, 2, 2])]) for i in range(4)]
    frames += [Frame(f"h{i}", 10, 10, "c", [Box(0, [1, 1, 2, 2])]) for i in range(4)]
    frames += [Frame(f"n{i:02d}", 10, 10, "c") for i in range(10)]
    none = sample_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": 1.0}, seed=0)
    some = sample_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": 1.0}, seed=0, background_fraction=0.3)
    assert len(none) == 8
    assert len(some) == 11 and sum(n.startswith("n") for n in some) == 3


def test_a_failed_preparation_leaves_no_partial_dataset(tmp_path):
    src = tmp_path / "src"
    frames = [Frame(f"c{c}_{t}.jpg", 64, 48, f"c{c}", [Box(c % 2, [1, 1, 5, 5])]) for c in range(6) for t in range(2)]
    for f in frames:
        image(src / f.file_name)
    from detexp.project import Project

    project = Project(frames, src, CLASSES)
    splits = assign_splits(frames, 0.2, 0.2, seed=1)
    out = tmp_path / "out"
    prepare_dataset(project, splits, {"crane hook": 1.0, "person": 1.0}, 1, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    (src / splits["test"][-1]).unlink()  # an image vanishes: linking fails half-way
    with pytest.raises(DatasetError, match="does not exist"):
        prepare_dataset(project, splits, {"crane hook": 1.0, "person": 0.5}, 1, out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # the old dataset is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]  # and no partial folder left


def test_yolo_split_folders_first_and_flat_layouts(tmp_path):
    """The three YOLO layouts the README names: images/<split>/ (above), <split>/images/, and flat."""
    by_split = tmp_path / "by_split"
    (by_split).mkdir()
    (by_split / "data.yaml").write_text("names: {0: crane hook, 1: person}\nnc: 2\n")
    for split in ("train", "valid", "test"):
        for i in range(2):
            image(by_split / split / "images" / f"{split}_{i}.jpg", 40, 30)
            (by_split / split / "labels").mkdir(parents=True, exist_ok=True)
            (by_split / split / "labels" / f"{split}_{i}.txt").write_text(f"{i} 0.5 0.5 0.5 0.5\n")
    project = read_project(by_split, CLASSES, CLIP_REGEX)
    assert {f.split for f in project.frames} == {"train", "valid", "test"}
    frame = next(f for f in project.frames if f.file_name == "test/images/test_1.jpg")
    assert [b.label for b in frame.boxes] == [1] and frame.boxes[0].bbox == pytest.approx([10, 7.5, 20, 15])

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "data.yaml").write_text("names: [crane hook, person]\n")
    for i in range(3):
        image(flat / "images" / f"c_{i}.png", 50, 20)
        (flat / "labels").mkdir(exist_ok=True)
        (flat / "labels" / f"c_{i}.txt").write_text("0 0.5 0.5 0.2 0.5\n")
    project = read_project(flat, CLASSES, CLIP_REGEX)
    assert [f.file_name for f in project.frames] == ["images/c_0.png", "images/c_1.png", "images/c_2.png"]
    assert all(f.split is None and (f.width, f.height) == (50, 20) for f in project.frames)  # sizes from the header


def test_voc_xml_beside_its_image_without_a_size_reads_the_image_header(tmp_path):
    for i in range(2):
        image(tmp_path / "frames" / f"clip_{i}.jpg", 72, 36)
        (tmp_path / "frames" / f"clip_{i}.xml").write_text(
            f"<annotation><filename>clip_{i}.jpg</filename>"
            "<object><name>person</name><bndbox><xmin>11</xmin><ymin>11</ymin><xmax>20</xmax><ymax>30</ymax></bndbox></object>"
            "<object><name>crane hook</name><bndbox><xmin>31</xmin><ymin>1</ymin><xmax>40</xmax><ymax>9</ymax></bndbox></object>"
            "</annotation>"
        )
    assert detect_format(tmp_path) == "voc"
    project = read_project(tmp_path, CLASSES, CLIP_REGEX)
    assert [f.file_name for f in project.frames] == ["frames/clip_0.jpg", "frames/clip_1.jpg"]
    assert all((f.width, f.height) == (72, 36) for f in project.frames)
    person = next(b for b in project.frames[0].boxes if b.label == 1)
    assert person.bbox == pytest.approx([10, 10, 10, 20])  # 1-based VOC pixels -> 0-based


def test_a_roboflow_export_without_test_gets_one_carved_from_train(tmp_path):
    for split, n in (("train", 12), ("valid", 3)):
        names = [f"clip{i // 3}_{i}.jpg" for i in range(n)] if split == "train" else [f"val_{i}.jpg" for i in range(n)]
        for name in names:
            image(tmp_path / split / name)
        boxes = [(i, 1 + i % 2, [2, 2, 10, 10]) for i in range(n)]
        (tmp_path / split / "_annotations.coco.json").write_text(json.dumps(coco(names, boxes)))
    assert detect_format(tmp_path) == "roboflow"
    project = read_project(tmp_path, CLASSES, CLIP_REGEX)
    splits = assign_splits(project.frames, 0.15, 0.2, seed=0)
    assert splits["valid"] == [f"valid/val_{i}.jpg" for i in range(3)]  # the export's own valid split
    # 0.2 of the 15 frames, carved from train as whole clips of 3: one clip
    assert len(splits["test"]) == 3 and len({n.split("_")[0] for n in splits["test"]}) == 1
    assert set(splits["test"]).isdisjoint(splits["train"]) and len(splits["train"]) == 9
