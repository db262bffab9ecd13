"""What a study's numbers rest on: clips found in real exporters' names, no silent one-frame clips,
requested against kept frames per class, exact sampling, and one draw whatever the project's format."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from detexp.dataset import prepare_dataset
from detexp.formats import read_project
from detexp.project import Box, Frame, clip_of
from detexp.sampling import assign_splits, draw_training_frames, sampling_warnings, split_by_clip, split_statistics
from detexp.sources import DatasetError
from detexp.schemas import schema_default
from detexp.summary import sampling_notes

CLASSES = ["crane hook", "person"]
DEFAULT_CLIP_REGEX = schema_default("splits.clip_regex")


def roboflow_name(name: str) -> str:
    """How a Roboflow export renames clipA_0001.jpg: clipA_0001_jpg.rf.<32 hex>.jpg."""
    stem, ext = name.rsplit(".", 1)
    return f"{stem}_{ext}.rf.{hashlib.md5(name.encode()).hexdigest()}.{ext}"


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


# ---- clips from real exporters' names -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, clip",
    [
        ("clipA_0001.jpg", "clipA"),
        ("clipA-000123.jpg", "clipA"),
        ("clipA_frame_000123.jpg", "clipA"),
        ("clipA/000123.jpg", "clipA"),
        ("clipA/frame_000123.png", "clipA"),
        ("site-a-12.png", "site-a"),
    ],
)
def test_the_default_grouping_finds_the_clip_in_common_frame_names(name, clip):
    assert clip_of(name, DEFAULT_CLIP_REGEX) == clip


def flat_roboflow_export(root: Path, clips: int = 12, frames_per_clip: int = 6) -> dict[str, str]:
    """A flat COCO export whose files Roboflow renamed; returns renamed file -> true clip."""
    names, labels, truth = [], [], {}
    for c in range(clips):
        for t in range(frames_per_clip):
            renamed = roboflow_name(f"clip{c:02d}_{t:04d}.jpg")
            (root / renamed).parent.mkdir(parents=True, exist_ok=True)
            (root / renamed).write_bytes(b"not decoded")
            names.append(renamed)
            labels.append([(c + t) % 2])
            truth[renamed] = f"clip{c:02d}"
    coco_file(root / "_annotations.coco.json", names, labels)
    return truth


def test_a_roboflow_renamed_flat_export_never_splits_a_clip(tmp_path):
    truth = flat_roboflow_export(tmp_path)
    project = read_project(tmp_path, CLASSES, DEFAULT_CLIP_REGEX)
    assert {f.clip for f in project.frames} == set(truth.values())
    splits = assign_splits(project.frames, 0.2, 0.2, seed=4, clip_rule=project.clip_rule)
    split_of_clip: dict[str, set[str]] = {}
    for split in ("train", "valid", "test"):
        for name in splits[split]:
            split_of_clip.setdefault(truth[name], set()).add(split)
    assert all(len(where) == 1 for where in split_of_clip.values()), split_of_clip
    assert {s for where in split_of_clip.values() for s in where} == {"train", "valid", "test"}
    stats = split_statistics(project.frames, splits, project.clip_rule)
    assert sum(stats["clips"].values()) == 12 and stats["clips_in_several_splits"] == []
    assert stats["frames"] == {s: len(splits[s]) for s in ("train", "valid", "test")}
    assert stats["single_frame_clips"] == 0


# ---- no silent one-frame clips --------------------------------------------------------------------

PHOTO_NAMES = [
    f"{word}.jpg"
    for word in "oak elm ash fir yew box bay fig lime pear plum sloe rowan alder aspen beech birch cedar hazel holly larch maple".split()
]


def photos(n: int = 22) -> list[Frame]:
    """Independent photos: names without frame numbers, so each is a clip of its own."""
    return [
        Frame(n_, 64, 48, clip_of(n_, DEFAULT_CLIP_REGEX), [Box(i % 2, [1, 1, 5, 5])]) for i, n_ in enumerate(PHOTO_NAMES[:n])
    ]


def test_a_grouping_of_one_frame_clips_fails_and_says_how_to_group():
    frames = photos()
    with pytest.raises(DatasetError) as err:
        split_by_clip(frames, 0.2, 0.2, seed=0, clip_rule="splits.clip_regex on file names")
    message = str(err.value)
    assert "the 22 frames form 22 clips, 22 of them of a single frame" in message
    assert "e.g. frame 'oak.jpg' is in clip 'oak'" in message
    assert "Set splits.clip_regex" in message and "splits.group_frames: false" in message


def test_independent_photos_split_when_said_so_explicitly():
    # camera photos: the default grouping takes IMG_0001 ... IMG_0022 for frames of one clip "IMG"
    frames = [
        Frame(f"IMG_{i:04d}.jpg", 64, 48, clip_of(f"IMG_{i:04d}.jpg", DEFAULT_CLIP_REGEX), [Box(i % 2, [1, 1, 5, 5])])
        for i in range(22)
    ]
    with pytest.raises(DatasetError, match="the 22 frame\\(s\\) form 1 clip\\(s\\).*splits.group_frames: false"):
        split_by_clip(frames, 0.2, 0.2, seed=0)
    splits = split_by_clip(frames, 0.2, 0.2, seed=0, group_frames=False)
    assert sorted(sum(splits.values(), [])) == sorted(f.file_name for f in frames)
    assert len(splits["valid"]) == len(splits["test"]) == 4  # 0.2 x 22 = 4.4: one frame per clip
    stats = split_statistics(frames, splits, "splits.clip_regex on file names", group_frames=False)
    assert stats["clips"] == {"train": 14, "valid": 4, "test": 4}
    assert stats["grouped_by"].startswith("none (splits.group_frames: false")


def test_a_small_project_of_stills_is_not_refused():
    frames = photos(19)  # below 20 frames: too few to judge the grouping
    assert sum(map(len, split_by_clip(frames, 0.2, 0.2, seed=0).values())) == 19


# ---- requested against kept, and exact sampling ---------------------------------------------------


def co_occurring(bicycles: int = 10, cars_alone: int = 12) -> list[Frame]:
    """Every bicycle frame also holds a car (label 0 = car, 1 = bicycle), as in a street scene."""
    frames = [Frame(f"b{i:02d}", 64, 48, "c", [Box(0, [1, 1, 5, 5]), Box(1, [9, 9, 5, 5])]) for i in range(bicycles)]
    frames += [Frame(f"c{i:02d}", 64, 48, "c", [Box(0, [1, 1, 5, 5])]) for i in range(cars_alone)]
    return frames


STREET = ["car", "bicycle"]


def test_union_reports_what_other_classes_bring_in_and_warns():
    draw = draw_training_frames(co_occurring(), STREET, {"car": 1.0, "bicycle": 0.25}, seed=2)
    bicycle = draw.per_class["bicycle"]
    # round-half-up(0.25 x 10) = 3 drawn; the other 7 bicycle frames enter through their cars
    assert (bicycle["frames_available"], bicycle["frames_drawn"], bicycle["frames_kept"]) == (10, 3, 10)
    assert bicycle["kept_share"] == 1.0 and bicycle["requested_share"] == 0.25
    assert bicycle["entered_through"] == {"car": 7}
    assert draw.per_class["car"]["kept_share"] == 1.0 and draw.per_class["car"]["entered_through"] == {}
    assert draw.over_kept() == ["bicycle"]
    warnings = sampling_warnings(
        {"per_class_sampling": draw.per_class, "over_kept_classes": draw.over_kept(), "frame_sampling": "union"}
    )
    assert warnings == [
        "warning: class 'bicycle' keeps 100% of its training frames (10 of 10), not the 25% requested (3): 7 more "
        "entered through frames drawn for 'car' (7) (frame_sampling: union); frame_sampling: exact keeps the request"
    ]


def test_a_request_met_by_the_draw_alone_is_not_marked():
    frames = [Frame(f"p{i:02d}", 64, 48, "c", [Box(1, [1, 1, 5, 5])]) for i in range(10)]
    frames += [Frame(f"h{i:02d}", 64, 48, "c", [Box(0, [1, 1, 5, 5])]) for i in range(10)]
    draw = draw_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": 0.5}, seed=0)
    assert draw.per_class["person"]["kept_share"] == 0.5 and draw.over_kept() == []


@pytest.mark.parametrize("fraction, expected", [(0.25, 3), (0.45, 5), (0.5, 5), (1.0, 10)])
def test_exact_keeps_round_half_up_of_the_request(fraction, expected):
    draw = draw_training_frames(co_occurring(), STREET, {"car": 1.0, "bicycle": fraction}, seed=2, mode="exact")
    bicycle, car = draw.per_class["bicycle"], draw.per_class["car"]
    assert bicycle["frames_kept"] == bicycle["frames_drawn"] == expected
    assert bicycle["kept_share"] == expected / 10 and bicycle["entered_through"] == {}
    # the car frames that also hold an undrawn bicycle are what car loses
    assert car["dropped_by_exact"] == 10 - expected
    assert car["frames_kept"] == 22 - (10 - expected)
    assert draw.over_kept() == []


def test_exact_draws_are_nested_and_match_union_draws_of_the_class():
    frames = co_occurring()
    kept = {
        f: set(draw_training_frames(frames, STREET, {"car": 1.0, "bicycle": f}, seed=5, mode="exact").kept)
        for f in (0.25, 0.5, 1.0)
    }
    assert kept[0.25] <= kept[0.5] <= kept[1.0]
    bicycles = {f: {n for n in k if n.startswith("b")} for f, k in kept.items()}
    union = draw_training_frames(frames, STREET, {"car": 1.0, "bicycle": 0.25}, seed=5)
    # the same seeded ranking as union's draw: exact keeps exactly the frames union drew for the class
    assert len(bicycles[0.25]) == union.per_class["bicycle"]["frames_drawn"] == 3


def test_dataset_stats_and_comparison_notes_carry_the_shares(tmp_path):
    root = tmp_path / "proj"
    names = [f"img/c{c}_{t}.jpg" for c in range(10) for t in range(3)]
    # clip c holds a car in every frame and a bicycle in clips 0-4
    labels = [[0, 1] if c < 5 else [0] for c in range(10) for _ in range(3)]
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(b"x")
    coco_file(root / "_annotations.coco.json", names, labels, STREET)
    project = read_project(root, STREET, DEFAULT_CLIP_REGEX)
    ordered = sorted(f.file_name for f in project.frames)  # clips c0..c9, c0-c4 with bicycles first
    splits = {"train": ordered[:24], "valid": ordered[24:27], "test": ordered[27:]}
    union = prepare_dataset(project, splits, {"car": 1.0, "bicycle": 0.2}, 1, tmp_path / "u")
    exact = prepare_dataset(project, splits, {"car": 1.0, "bicycle": 0.2}, 1, tmp_path / "e", frame_sampling="exact")
    # 24 training frames: 15 with a bicycle (clips 0-4), all with a car; 0.2 x 15 = 3 bicycle frames drawn
    assert union["per_class_sampling"]["bicycle"] | {"entered_through": None} == {
        "requested_fraction": 0.2,
        "requested_share": 0.2,
        "frames_available": 15,
        "frames_drawn": 3,
        "frames_kept": 15,
        "kept_share": 1.0,
        "entered_through": None,
        "dropped_by_exact": 0,
    }
    assert union["over_kept_classes"] == ["bicycle"] and union["frame_sampling"] == "union"
    assert exact["per_class_sampling"]["bicycle"]["frames_kept"] == 3
    assert exact["per_class_sampling"]["car"]["dropped_by_exact"] == 12
    assert exact["splits"]["train"]["frames"] == 24 - 12
    assert sampling_notes(union) == ["bicycle: kept 100% of its frames, 20% requested (entered through car)"]
    assert sampling_notes(exact) == ["car: 12 frame(s) dropped by exact sampling"]


# ---- one draw whatever the format -----------------------------------------------------------------

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


def test_split_dataset_refuses_one_frame_clips_and_splits_photos_when_told(tmp_path):
    """From the command line, as in the workflow's job: a project of 24 camera photos."""
    import subprocess
    import sys

    from conftest import SCRIPTS

    names = [f"{word}_{i}x.jpg" for i, word in enumerate(["pic"] * 24)]  # no trailing frame number
    for name in names:
        (tmp_path / "proj" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "proj" / name).write_bytes(b"not decoded")
    coco_file(tmp_path / "proj/_annotations.coco.json", names, [[i % 2] for i in range(24)])
    command = [sys.executable, str(SCRIPTS / "split_dataset.py"), "--class", "crane hook", "--class", "person"]
    outputs = [str(tmp_path / "proj"), str(tmp_path / "splits.json"), str(tmp_path / "splits.html")]
    refused = subprocess.run(command + outputs, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and not (tmp_path / "splits.json").exists()
    assert "the 24 frames form 24 clips, 24 of them of a single frame" in refused.stderr
    assert "e.g. frame 'pic_0x.jpg' is in clip 'pic_0x'" in refused.stderr and "splits.group_frames: false" in refused.stderr
    told = subprocess.run(command + ["--independent-frames"] + outputs, capture_output=True, text=True, timeout=120)
    assert told.returncode == 0, told.stderr
    splits = json.loads((tmp_path / "splits.json").read_text())
    assert sorted(splits["train"] + splits["valid"] + splits["test"]) == sorted(names)
    assert splits["statistics"]["clips"] == splits["statistics"]["frames"] == {"train": 16, "valid": 4, "test": 4}
