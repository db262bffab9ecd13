"""Reading a COCO project, splitting by clip and sampling training frames: hand-made data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detexp.dataset import prepare_dataset
from detexp.formats.coco import read_coco_project
from detexp.project import Box, Frame, clip_of
from detexp.sampling import sample_training_frames, split_by_clip
from detexp.sources import DatasetError

CLASSES = ["crane hook", "person"]
CLIP_REGEX = r"^(?P<clip>.*?)[_-]?\d+$"


def frame(name: str, *labels: int, clip: str = "c") -> Frame:
    return Frame(name, 100, 100, clip, [Box(label, [1, 1, 10, 10]) for label in labels])


def hand_made_frames() -> list[Frame]:
    """8 hook-only, 8 person-only, 4 with both, 4 with neither."""
    frames = [frame(f"h{i}", 0) for i in range(8)]
    frames += [frame(f"p{i}", 1) for i in range(8)]
    frames += [frame(f"b{i}", 0, 1) for i in range(4)]
    frames += [frame(f"n{i}") for i in range(4)]
    return frames


# The person frames drawn at 0.25 with seed 1 from `hand_made_frames`: pinned, so that a change of the
# ranking key (which would change every study's draw) fails here.
PERSON_DRAW_SEED_1 = {"b2", "b3", "p5"}


def test_sampling_keeps_exact_counts_and_the_union():
    frames = hand_made_frames()
    kept = set(sample_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": 0.25}, seed=1))
    hook_set = {f.file_name for f in frames if 0 in f.labels()}  # 12 frames
    person_draw = PERSON_DRAW_SEED_1  # round(0.25 * 12) = 3 of the 12 person frames
    assert kept == hook_set | person_draw  # the union of the per-class draws
    assert not any(n.startswith("n") for n in kept)  # frames with neither class are dropped


def test_sampling_count_is_exact_for_a_single_class():
    frames = [frame(f"p{i:02d}", 0) for i in range(20)]
    for fraction, expected in [(0.25, 5), (0.5, 10), (0.75, 15), (1.0, 20), (0.1, 2), (0.01, 1)]:
        assert len(sample_training_frames(frames, ["person"], {"person": fraction}, seed=3)) == expected, fraction


def test_half_counts_round_up():
    frames = [frame(f"p{i:02d}", 0) for i in range(10)]
    # 2.5 -> 3 and 4.5 -> 5 (half up, not Python's round-half-to-even: 2 and 4); 0.4 -> at least one frame
    for fraction, expected in [(0.25, 3), (0.45, 5), (0.04, 1)]:
        assert len(sample_training_frames(frames, ["person"], {"person": fraction}, seed=3)) == expected, fraction


def test_sampling_is_deterministic_and_nested():
    frames = hand_made_frames()
    draws = {f: sample_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": f}, seed=7) for f in (0.25, 0.5, 0.75, 1.0)}
    assert draws[0.25] == sample_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": 0.25}, seed=7)
    assert set(draws[0.25]) <= set(draws[0.5]) <= set(draws[0.75]) <= set(draws[1.0])
    assert len(draws[0.25]) < len(draws[1.0])


def test_a_different_seed_changes_the_draw():
    frames = [frame(f"p{i:02d}", 0) for i in range(40)]
    a = sample_training_frames(frames, ["person"], {"person": 0.5}, seed=1)
    b = sample_training_frames(frames, ["person"], {"person": 0.5}, seed=2)
    assert len(a) == len(b) == 20 and a != b


def test_a_class_left_without_frames_is_an_error():
    frames = [frame("p1", 1), frame("p2", 1)]
    with pytest.raises(DatasetError, match="class 'crane hook' has no training frames after sampling"):
        sample_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": 1.0}, seed=0)
    with pytest.raises(DatasetError, match=r"class 'person' has no training frames after sampling \(fraction 0.0"):
        sample_training_frames(frames + [frame("h1", 0)], CLASSES, {"crane hook": 1.0, "person": 0.0}, seed=0)


def test_clip_of():
    assert clip_of("images/clip03_0007.jpg", CLIP_REGEX) == "images/clip03"
    assert clip_of("site-a-12.png", CLIP_REGEX) == "site-a"
    assert clip_of("still.jpg", CLIP_REGEX) == "still"


def test_split_by_clip_keeps_clips_together_and_is_deterministic():
    frames = [frame(f"clip{c}_{t}", c % 2, clip=f"clip{c}") for c in range(10) for t in range(5)]
    splits = split_by_clip(frames, 0.2, 0.2, seed=5)
    assert splits == split_by_clip(frames, 0.2, 0.2, seed=5)
    assert sum(map(len, splits.values())) == 50
    clips = {s: {n.split("_")[0] for n in names} for s, names in splits.items()}
    assert not clips["train"] & clips["valid"] and not clips["train"] & clips["test"] and not clips["valid"] & clips["test"]
    assert len(splits["valid"]) == 10 and len(splits["test"]) == 10


def test_split_with_too_few_clips_is_an_error():
    frames = [frame(f"a_{t}", 0, clip="a") for t in range(5)]
    with pytest.raises(DatasetError, match="split 'train' has no frames"):
        split_by_clip(frames, 0.2, 0.2, seed=0)


def write_project(root: Path, coco: dict, images=("img/a_1.jpg", "img/a_2.jpg")) -> Path:
    for name in images:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"not decoded")
    (root / "_annotations.coco.json").write_text(json.dumps(coco))
    return root


def coco_of(names: list[str], categories: list[dict], annotations: list[dict]) -> dict:
    """A COCO dict whose images are `names`, all 64x48."""
    images = [{"id": i, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(names)]
    return {"categories": categories, "images": images, "annotations": annotations}


def read_project(root: Path):
    return read_coco_project(root / "_annotations.coco.json", root, CLASSES, CLIP_REGEX)


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
    project = read_project(write_project(tmp_path, roboflow_style_coco()))
    by_name = {f.file_name: f for f in project.frames}
    assert by_name["img/a_1.jpg"].labels() == {0, 1}
    assert by_name["img/a_1.jpg"].boxes[0].bbox == [90.0, 70.0, 10.0, 10.0]  # clipped to 100x80
    assert by_name["img/a_2.jpg"].boxes == []
    assert project.clipped_boxes == 1
    assert project.dropped_annotations == 1
    assert by_name["img/a_1.jpg"].clip == "img/a"  # the name relative to images_dir
    assert by_name["img/a_1.jpg"].key == "img/a_1.jpg"


def test_missing_configured_class_lists_what_the_project_has(tmp_path):
    write_project(tmp_path, roboflow_style_coco())
    with pytest.raises(
        DatasetError,
        match=r"class\(es\) 'helmet' not in the project - it has: crane hook \(1 boxes\), person \(1 boxes\), truck \(1 boxes\)$",
    ):  # Roboflow's empty parent category 'objects' is not a class
        read_coco_project(tmp_path / "_annotations.coco.json", tmp_path, ["helmet"], CLIP_REGEX)


def test_missing_image_file_is_named(tmp_path):
    write_project(tmp_path, roboflow_style_coco(), images=("img/a_1.jpg",))
    with pytest.raises(DatasetError, match="img/a_2.jpg, which does not exist"):
        read_project(tmp_path)


def test_invalid_json_says_where(tmp_path):
    (tmp_path / "_annotations.coco.json").write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(DatasetError, match="_annotations.coco.json: invalid JSON at line 2"):
        read_project(tmp_path)


def test_missing_project_dir(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_project(tmp_path / "nope")


def test_prepare_dataset_writes_rfdetr_layout_with_linked_images(tmp_path):
    root = tmp_path / "proj"
    names = [f"img/c{c}_{t}.jpg" for c in range(6) for t in range(3)]
    coco = coco_of(
        names,
        [{"id": 7, "name": "person"}, {"id": 9, "name": "crane hook"}],
        [{"id": i, "image_id": i, "category_id": 7 if i % 2 else 9, "bbox": [1, 2, 10, 10]} for i in range(len(names))],
    )
    project = read_project(write_project(root, coco, names))
    splits = split_by_clip(project.frames, 0.2, 0.2, seed=1)
    stats = prepare_dataset(project, splits, {"crane hook": 1.0, "person": 0.5}, 1, tmp_path / "out")
    for split in ("train", "valid", "test"):
        coco_out = json.loads((tmp_path / "out" / split / "_annotations.coco.json").read_text())
        assert [c["name"] for c in coco_out["categories"]] == CLASSES  # contiguous, in config order
        assert [c["id"] for c in coco_out["categories"]] == [1, 2]
        for img in coco_out["images"]:
            linked = tmp_path / "out" / split / img["file_name"]
            assert linked.stat().st_ino == (root / img["file_name"]).stat().st_ino  # hard link, not a copy
    assert stats["image_link_method"] == ["hardlink"]
    train = stats["splits"]["train"]["classes"]
    before = stats["splits"]["train"]["available_before_sampling"]["classes"]
    assert train["crane hook"]["frames"] == before["crane hook"]["frames"]
    assert train["person"]["frames"] == int(before["person"]["frames"] * 0.5 + 0.5)
    assert stats["splits"]["valid"]["frames"] == len(splits["valid"])  # held-out splits are never sampled
    assert len(stats["train_frames"]) == stats["splits"]["train"]["frames"]


def test_prepared_files_are_byte_identical_for_the_same_config_and_keep_other_classes(tmp_path):
    root = tmp_path / "proj"
    names = [f"img/c{c}_{t}.jpg" for c in range(8) for t in range(3)]
    coco = coco_of(
        names,
        [{"id": 1, "name": "crane hook"}, {"id": 2, "name": "person"}],
        # every third frame holds both classes
        [
            {"id": 2 * i + k, "image_id": i, "category_id": 1 + k, "bbox": [1 + k, 2, 10, 10]}
            for i in range(len(names))
            for k in ((0, 1) if i % 3 == 0 else (i % 2,))
        ],
    )
    project = read_project(write_project(root, coco, names))
    splits = split_by_clip(project.frames, 0.2, 0.2, seed=1)
    fractions = {"crane hook": 1.0, "person": 0.25}
    prepare_dataset(project, splits, fractions, 1, tmp_path / "a")
    prepare_dataset(project, splits, fractions, 1, tmp_path / "b")
    for split in ("train", "valid", "test"):
        a = (tmp_path / "a" / split / "_annotations.coco.json").read_bytes()
        assert a == (tmp_path / "b" / split / "_annotations.coco.json").read_bytes()
    train = json.loads((tmp_path / "a/train/_annotations.coco.json").read_text())
    source_both = {n for i, n in enumerate(names) if i % 3 == 0}
    kept_both = [img["id"] for img in train["images"] if img["file_name"] in source_both]
    assert kept_both
    for image_id in kept_both:
        # a frame kept for either class keeps the boxes of both (no object silently becomes background)
        assert sorted(a["category_id"] for a in train["annotations"] if a["image_id"] == image_id) == [1, 2]


def test_a_class_name_that_differs_in_case_or_by_a_typo_gets_a_suggestion(tmp_path):
    write_project(tmp_path, roboflow_style_coco())
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
    write_project(tmp_path, coco)
    with pytest.raises(
        DatasetError,
        match=r"refers to .*a_1.jpg, which does not exist or is not a file - it is at .*img/a_1.jpg: set images_dir: img \(",
    ):
        read_project(tmp_path)
    assert len(read_coco_project(tmp_path / "_annotations.coco.json", tmp_path / "img", CLASSES, CLIP_REGEX).frames) == 2


def test_boxes_of_zero_width_or_height_are_dropped_and_counted_or_refused(tmp_path):
    from detexp.formats import degenerate_box_warning, read_project as read_any

    coco = roboflow_style_coco()
    coco["annotations"] += [
        {"id": 7, "image_id": 1, "category_id": 2, "bbox": [5, 5, 0, 20]},
        {"id": 8, "image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 0]},
    ]
    write_project(tmp_path, coco)
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
