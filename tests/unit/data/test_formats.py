"""formats and project: every project layout (COCO with exporters' quirks, Roboflow exports, YOLO,
Pascal VOC), pre-split sources, one draw whatever the format, and the errors a project gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detexp.data.dataset import prepare_dataset
from detexp.data.formats import detect_format, project_sources, read_project
from detexp.data.formats.coco import read_coco_project
from detexp.data.project import Box, clip_of, Frame
from detexp.data.sampling import assign_splits, draw_training_frames
from detexp.data.sources import DatasetError
from projects import (
    CLASSES,
    CLIP_REGEX,
    DEFAULT_CLIP_REGEX,
    coco_file,
    labelimg_voc,
    read_coco,
    roboflow_name,
    write_image,
    write_undecoded_project,
)


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
            write_image(tmp_path / split / name)
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
            write_image(tmp_path / "images" / split / f"{split}_{i}.png", 100, 50)
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
        write_image(tmp_path / "JPEGImages" / f"clip_{i}.jpg", 80, 60)
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


@pytest.mark.parametrize("annotations", ["annots", "annotations", "Annotations"])
def test_voc_exports_with_their_images_in_images_are_read(tmp_path, annotations):
    labelimg_voc(tmp_path, annotations, "images")
    assert detect_format(tmp_path) == "voc"
    project = read_project(tmp_path, CLASSES, CLIP_REGEX)
    assert [f.file_name for f in project.frames] == ["images/00001.jpg", "images/00002.jpg"]
    assert [f.key for f in project.frames] == ["00001.jpg", "00002.jpg"]  # the name within the images folder
    assert sorted(b.label for b in project.frames[0].boxes) == [0, 1]


def test_voc_images_dir_is_honoured_and_a_missing_image_says_where_it_looked(tmp_path):
    labelimg_voc(tmp_path, "annots", "photos")
    with pytest.raises(DatasetError) as err:
        read_project(tmp_path, CLASSES, CLIP_REGEX)
    message = str(err.value)
    assert "image '00001.jpg' (its <filename>) not found - looked in JPEGImages/, images/, annots/, ./" in message
    assert "set images_dir: <folder>" in message
    project = read_project(tmp_path, CLASSES, CLIP_REGEX, images_dir="photos")
    assert [f.file_name for f in project.frames] == ["photos/00001.jpg", "photos/00002.jpg"]


def test_unknown_layout_is_explained(tmp_path):
    (tmp_path / "readme.txt").write_text("")
    with pytest.raises(DatasetError, match="no known dataset layout"):
        detect_format(tmp_path)


def test_coco_file_with_video_id_and_subfolders(tmp_path):
    names = ["a/x/f_1.jpg", "a/x/f_2.jpg"]
    for n in names:
        write_image(tmp_path / "imgs" / n)
    data = coco(names, [(0, 2, [1, 1, 5, 5])])
    data["images"][0]["video_id"] = 7
    data["images"][1]["video_id"] = 7
    (tmp_path / "export.json").write_text(json.dumps(data))
    assert detect_format(tmp_path) == "coco"
    project = read_project(tmp_path, CLASSES, CLIP_REGEX, images_dir="imgs")
    assert {f.clip for f in project.frames} == {"7"}
    assert project.image_root == tmp_path / "imgs"


def test_yolo_split_folders_first_and_flat_layouts(tmp_path):
    """The three YOLO layouts docs/data.md names: images/<split>/ (above), <split>/images/, and flat."""
    by_split = tmp_path / "by_split"
    (by_split).mkdir()
    (by_split / "data.yaml").write_text("names: {0: crane hook, 1: person}\nnc: 2\n")
    for split in ("train", "valid", "test"):
        for i in range(2):
            write_image(by_split / split / "images" / f"{split}_{i}.jpg", 40, 30)
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
        write_image(flat / "images" / f"c_{i}.png", 50, 20)
        (flat / "labels").mkdir(exist_ok=True)
        (flat / "labels" / f"c_{i}.txt").write_text("0 0.5 0.5 0.2 0.5\n")
    project = read_project(flat, CLASSES, CLIP_REGEX)
    assert [f.file_name for f in project.frames] == ["images/c_0.png", "images/c_1.png", "images/c_2.png"]
    assert all(f.split is None and (f.width, f.height) == (50, 20) for f in project.frames)  # sizes from the header


def test_yolo_images_dir_takes_the_place_of_images_and_a_label_without_its_image_is_refused(tmp_path):
    (tmp_path / "data.yaml").write_text("names: [crane hook, person]\n")
    (tmp_path / "labels").mkdir()
    for split in ("train", "valid"):
        for i in range(2):
            write_image(tmp_path / "frames" / split / f"{split}_{i}.png", 50, 20)
            (tmp_path / "labels" / split).mkdir(exist_ok=True)
            (tmp_path / "labels" / split / f"{split}_{i}.txt").write_text("1 0.5 0.5 0.2 0.5\n")
    project = read_project(tmp_path, CLASSES, CLIP_REGEX, images_dir="frames")
    assert sorted(f.file_name for f in project.frames) == [f"frames/{s}/{s}_{i}.png" for s in ("train", "valid") for i in (0, 1)]
    assert {f.split for f in project.frames} == {"train", "valid"}
    assert all([b.label for b in f.boxes] == [1] for f in project.frames)
    # without images_dir the images/ folder is looked in, which is not there: every label is named
    with pytest.raises(DatasetError, match=r"images_dir is not set: images/ is used") as refused:
        read_project(tmp_path, CLASSES, CLIP_REGEX)
    assert f"{tmp_path / 'labels'}: 4 label file(s) without an image in {tmp_path / 'images'}" in str(refused.value)
    # a label whose image is gone (supervision would skip it): named, with where it was looked for
    (tmp_path / "frames" / "valid" / "valid_1.png").unlink()
    with pytest.raises(DatasetError, match=r"images_dir is 'frames'") as refused:
        read_project(tmp_path, CLASSES, CLIP_REGEX, images_dir="frames")
    assert f"1 label file(s) without an image in {tmp_path / 'frames' / 'valid'}" in str(refused.value)
    assert "valid_1.txt" in str(refused.value) and "valid_0.txt" not in str(refused.value)
    with pytest.raises(DatasetError, match=r"images_dir: pictures: .* is not a folder"):
        read_project(tmp_path, CLASSES, CLIP_REGEX, images_dir="pictures")


def test_voc_xml_beside_its_image_without_a_size_reads_the_image_header(tmp_path):
    for i in range(2):
        write_image(tmp_path / "frames" / f"clip_{i}.jpg", 72, 36)
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
            write_image(tmp_path / split / name)
        boxes = [(i, 1 + i % 2, [2, 2, 10, 10]) for i in range(n)]
        (tmp_path / split / "_annotations.coco.json").write_text(json.dumps(coco(names, boxes)))
    assert detect_format(tmp_path) == "roboflow"
    project = read_project(tmp_path, CLASSES, CLIP_REGEX)
    splits = assign_splits(project.frames, 0.15, 0.2, seed=0)
    assert splits["valid"] == [f"valid/val_{i}.jpg" for i in range(3)]  # the export's own valid split
    # 0.2 of the 15 frames, carved from train as whole clips of 3: one clip
    assert len(splits["test"]) == 3 and len({n.split("_")[0] for n in splits["test"]}) == 1
    assert set(splits["test"]).isdisjoint(splits["train"]) and len(splits["train"]) == 9


def test_clip_of():
    assert clip_of("images/clip03_0007.jpg", CLIP_REGEX) == "images/clip03"
    assert clip_of("site-a-12.png", CLIP_REGEX) == "site-a"
    assert clip_of("still.jpg", CLIP_REGEX) == "still"


def roboflow_style_coco() -> dict:
    """Quirks of real exports: ids from 0, a parent category, an unnamed class, an image without boxes."""
    return {
        "categories": [
            {"id": 0, "name": "objects", "supercategory": "none"},
            {"id": 1, "name": "crane hook", "supercategory": "objects"},
            {"id": 2, "name": "person", "supercategory": "objects"},
            {"id": 3, "name": "truck", "supercategory": "objects"},
        ],
        "images": [
            {"id": 0, "file_name": "img/a_1.jpg", "width": 100, "height": 80},
            {"id": 1, "file_name": "img/a_2.jpg", "width": 100, "height": 80},
        ],
        "annotations": [
            {"id": 0, "image_id": 0, "category_id": 1, "bbox": [90, 70, 20, 20]},  # runs off the image
            {"id": 1, "image_id": 0, "category_id": 2, "bbox": [5, 5, 10, 20]},
            {"id": 2, "image_id": 0, "category_id": 3, "bbox": [5, 5, 10, 20]},  # class not configured
        ],
    }


def test_read_coco_project_handles_real_export_quirks(tmp_path):
    project = read_coco(write_undecoded_project(tmp_path, roboflow_style_coco()))
    by_name = {f.file_name: f for f in project.frames}
    assert by_name["img/a_1.jpg"].labels() == {0, 1}
    assert by_name["img/a_1.jpg"].boxes[0].bbox == [90.0, 70.0, 10.0, 10.0]  # clipped to 100x80
    assert by_name["img/a_2.jpg"].boxes == []
    assert project.clipped_boxes == 1
    assert project.dropped_annotations == 1
    assert by_name["img/a_1.jpg"].clip == "img/a"  # the name relative to images_dir
    assert by_name["img/a_1.jpg"].key == "img/a_1.jpg"


def test_missing_configured_class_lists_what_the_project_has(tmp_path):
    write_undecoded_project(tmp_path, roboflow_style_coco())
    with pytest.raises(
        DatasetError,
        match=r"class\(es\) 'helmet' not in the project - it has: crane hook \(1 boxes\), person \(1 boxes\), truck \(1 boxes\)$",
    ):  # Roboflow's empty parent category 'objects' is not a class
        read_coco_project(tmp_path / "_annotations.coco.json", tmp_path, ["helmet"], CLIP_REGEX)


def test_missing_image_file_is_named(tmp_path):
    write_undecoded_project(tmp_path, roboflow_style_coco(), images=("img/a_1.jpg",))
    with pytest.raises(DatasetError, match="img/a_2.jpg, which does not exist"):
        read_coco(tmp_path)


def test_invalid_json_says_where(tmp_path):
    (tmp_path / "_annotations.coco.json").write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(DatasetError, match="_annotations.coco.json: invalid JSON at line 2"):
        read_coco(tmp_path)


def test_missing_project_dir(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_coco(tmp_path / "nope")


def test_a_class_name_that_differs_in_case_or_by_a_typo_gets_a_suggestion(tmp_path):
    write_undecoded_project(tmp_path, roboflow_style_coco())
    annotations = tmp_path / "_annotations.coco.json"
    with pytest.raises(
        DatasetError, match=r"class\(es\) 'Person' \(did you mean 'person'\?\), 'crane hok' \(did you mean 'crane hook'\?\) not"
    ):
        read_coco_project(annotations, tmp_path, ["Person", "crane hok"], CLIP_REGEX)
    with pytest.raises(DatasetError, match=r"class\(es\) 'bicycle' not in the project"):  # nothing close: no guess
        read_coco_project(annotations, tmp_path, ["bicycle"], CLIP_REGEX)


def test_a_missing_image_found_in_a_subfolder_suggests_images_dir(tmp_path):
    coco = roboflow_style_coco()
    for img in coco["images"]:
        img["file_name"] = img["file_name"].removeprefix("img/")  # a.jpg, but the files are in img/
    write_undecoded_project(tmp_path, coco)
    with pytest.raises(
        DatasetError,
        match=r"refers to .*a_1.jpg, which does not exist or is not a file - it is at .*img/a_1.jpg: set images_dir: img \(",
    ):
        read_coco(tmp_path)
    assert len(read_coco_project(tmp_path / "_annotations.coco.json", tmp_path / "img", CLASSES, CLIP_REGEX).frames) == 2


def test_boxes_of_zero_width_or_height_are_dropped_and_counted_or_refused(tmp_path):
    from detexp.data.formats import degenerate_box_warning, read_project as read_any

    coco = roboflow_style_coco()
    coco["annotations"] += [
        {"id": 7, "image_id": 1, "category_id": 2, "bbox": [5, 5, 0, 20]},
        {"id": 8, "image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 0]},
    ]
    write_undecoded_project(tmp_path, coco)
    project = read_any(tmp_path, CLASSES, CLIP_REGEX)
    assert (
        len(project.degenerate_boxes) == 2
        and "annotation id 7 (image 'img/a_2.jpg', 100x80): box [5.0, 5.0, 0.0, 20.0]" in project.degenerate_boxes[0]
    )
    assert next(f for f in project.frames if f.file_name == "img/a_2.jpg").boxes == []  # dropped, not kept
    assert degenerate_box_warning(project).startswith(
        "warning: 2 box(es) of zero width or height dropped (not an object to learn), e.g. "
    )
    stats = prepare_dataset(
        project,
        {"train": ["img/a_1.jpg", "img/a_2.jpg"], "valid": [], "test": []},
        {"crane hook": 1.0, "person": 1.0},
        0,
        tmp_path / "out",
    )
    assert stats["dropped_degenerate_boxes"] == 2 and len(stats["degenerate_box_examples"]) == 2
    with pytest.raises(
        DatasetError, match=r"degenerate_boxes: refuse.*2 problem\(s\):\n  .*annotation id 7 .* has a width or height of 0"
    ):
        read_any(tmp_path, CLASSES, CLIP_REGEX, degenerate_boxes="refuse")


N_CLIPS, PER_CLIP = 10, 4


def frame_plan() -> list[tuple[str, list[int]]]:
    """(original file name, labels) of the one project written in every format."""
    return [
        (f"clip{c:02d}_{t:04d}.jpg", [k for k in (0, 1) if (c + t + k) % 3 != 0]) for c in range(N_CLIPS) for t in range(PER_CLIP)
    ]


def write_coco(root: Path) -> None:
    """COCO beside an images/ folder, the file names relative to it (config images_dir: images)."""
    plan = frame_plan()
    for name, _ in plan:
        write_image(root / "images" / name)
    coco_file(root / "_annotations.coco.json", [n for n, _ in plan], [labels for _, labels in plan])


def write_roboflow(root: Path) -> None:
    plan = frame_plan()
    for split, clips in (("train", range(0, 6)), ("valid", range(6, 8)), ("test", range(8, 10))):
        part = [(n, labels) for n, labels in plan if int(n[4:6]) in clips]
        for name, _ in part:
            write_image(root / split / roboflow_name(name))
        coco_file(root / split / "_annotations.coco.json", [roboflow_name(n) for n, _ in part], [lb for _, lb in part])


def write_yolo(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text("names: [crane hook, person]\n")
    for name, labels in frame_plan():
        write_image(root / "images" / name)
        lines = [f"{label} {(7 + 20 * label) / 64} {7 / 48} {10 / 64} {10 / 48}" for label in labels]
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / name.replace(".jpg", ".txt")).write_text("\n".join(lines) + "\n")


def write_voc(root: Path) -> None:
    for name, labels in frame_plan():
        write_image(root / "JPEGImages" / name)
        objects = "".join(
            f"<object><name>{CLASSES[label]}</name><bndbox><xmin>{3 + 20 * label}</xmin><ymin>3</ymin>"
            f"<xmax>{12 + 20 * label}</xmax><ymax>12</ymax></bndbox></object>"
            for label in labels
        )
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / name.replace(".jpg", ".xml")).write_text(
            f"<annotation><filename>{name}</filename><size><width>64</width><height>48</height></size>{objects}</annotation>"
        )


def test_one_project_in_four_formats_gives_the_same_draw(tmp_path):
    writers = {"coco": write_coco, "roboflow": write_roboflow, "yolo": write_yolo, "voc": write_voc}
    draws, clips, splits = {}, {}, {}
    for fmt, write in writers.items():
        write(tmp_path / fmt)
        images_dir = "images" if fmt == "coco" else "."
        project = read_project(tmp_path / fmt, CLASSES, DEFAULT_CLIP_REGEX, fmt, images_dir=images_dir)
        assert len(project.frames) == N_CLIPS * PER_CLIP, fmt
        key_of = {f.file_name: f.key for f in project.frames}
        clips[fmt] = {f.key: f.clip for f in project.frames}
        for seed in (1, 2):
            kept = draw_training_frames(project.frames, CLASSES, {"crane hook": 0.5, "person": 0.25}, seed).kept
            draws[fmt, seed] = sorted(key_of[n] for n in kept)
        if fmt != "roboflow":  # an export's own splits are kept; the others are split by clip
            split = assign_splits(project.frames, 0.2, 0.2, seed=3, clip_rule=project.clip_rule)
            splits[fmt] = {s: sorted(key_of[n] for n in names) for s, names in split.items()}
    assert set(clips["coco"].values()) == {f"clip{c:02d}" for c in range(N_CLIPS)}
    for fmt in writers:
        assert clips[fmt] == clips["coco"], fmt
        for seed in (1, 2):
            assert draws[fmt, seed] == draws["coco", seed], (fmt, seed)
    assert draws["coco", 1] != draws["coco", 2]
    assert splits["yolo"] == splits["voc"] == splits["coco"]
