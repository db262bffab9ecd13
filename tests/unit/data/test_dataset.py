"""dataset: writing a run's RF-DETR dataset - the layout, linked images (never replacing a file,
symlinks or copies where links cannot be made), repeated entries, all-or-nothing writes, kept shares."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from detexp.data.dataset import prepare_dataset
from detexp.data.formats import read_project
from detexp.data.project import Box, Frame
from detexp.data.sampling import assign_splits, split_by_clip
from detexp.data.sources import DatasetError
from detexp.report.summary import sampling_notes
from projects import (
    CLASSES,
    DEFAULT_CLIP_REGEX,
    coco_file,
    coco_of,
    coco_project,
    read_coco,
    shaded_image,
    snapshot,
    write_clip_project,
    write_image,
    write_undecoded_project,
)


def test_a_failed_preparation_leaves_no_partial_dataset(tmp_path):
    src = tmp_path / "src"
    frames = [Frame(f"c{c}_{t}.jpg", 64, 48, f"c{c}", [Box(c % 2, [1, 1, 5, 5])]) for c in range(6) for t in range(2)]
    for f in frames:
        write_image(src / f.file_name)
    from detexp.data.project import Project

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


def test_prepare_dataset_writes_rfdetr_layout_with_linked_images(tmp_path):
    root = tmp_path / "proj"
    names = [f"img/c{c}_{t}.jpg" for c in range(6) for t in range(3)]
    coco = coco_of(
        names,
        [{"id": 7, "name": "person"}, {"id": 9, "name": "crane hook"}],
        [{"id": i, "image_id": i, "category_id": 7 if i % 2 else 9, "bbox": [1, 2, 10, 10]} for i in range(len(names))],
    )
    project = read_coco(write_undecoded_project(root, coco, names))
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
    project = read_coco(write_undecoded_project(root, coco, names))
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


STREET = ["car", "bicycle"]


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


def test_repeats_are_entries_of_the_training_file_with_unique_ids_and_counted(tmp_path):
    write_clip_project(tmp_path / "proj")
    project = read_project(tmp_path / "proj", ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")
    splits = split_by_clip(project.frames, 0.2, 0.2, seed=1)
    stats = prepare_dataset(project, splits, {"crane hook": 1.0, "person": 0.5}, 1, tmp_path / "out", oversample={"person": 2.0})
    train = json.loads((tmp_path / "out/train/_annotations.coco.json").read_text())
    per_name: dict[str, int] = {}
    for img in train["images"]:
        per_name[img["file_name"]] = per_name.get(img["file_name"], 0) + 1
    kept = stats["train_frames"]
    assert sorted(per_name) == kept  # every kept frame, and only those
    assert len({img["id"] for img in train["images"]}) == len(train["images"])  # a new image id per copy
    assert len({a["id"] for a in train["annotations"]}) == len(train["annotations"])
    assert {a["image_id"] for a in train["annotations"]} <= {img["id"] for img in train["images"]}
    person_frames = stats["splits"]["train"]["classes"]["person"]["frames"]
    hook_only = [n for n in kept if per_name[n] == 1]
    assert set(per_name.values()) == {1, 2}
    assert sum(per_name.values()) == len(kept) + person_frames  # each kept person frame once more
    s = stats["splits"]["train"]
    assert s["effective_frames"] == len(train["images"])
    assert s["classes"]["person"]["effective_frames"] == 2 * person_frames
    assert s["copies_per_frame"] == {"1": len(hook_only), "2": person_frames}
    assert stats["sampling_method"] == "oversampling" and stats["oversampling_factors"] == {"crane hook": 1.0, "person": 2.0}
    hooks = s["classes"]["crane hook"]["effective_frames"]
    top = max(2 * person_frames, hooks)
    assert stats["achieved_ratio_effective"]["frames"] == {
        "crane hook": round(hooks / top, 4),
        "person": round(2 * person_frames / top, 4),
    }
    for split in ("valid", "test"):  # never repeated
        held = json.loads((tmp_path / "out" / split / "_annotations.coco.json").read_text())
        assert len({img["file_name"] for img in held["images"]}) == len(held["images"]) == len(splits[split])
    files = list((tmp_path / "out/train").rglob("*.jpg"))
    assert len(files) == len(kept)  # one linked file per frame, however often it is repeated


def test_linking_never_replaces_an_existing_file(tmp_path):
    from detexp.data.dataset import link_file
    from detexp.data.sources import DatasetError

    src = tmp_path / "data" / "a.jpg"
    shaded_image(src, 1)
    data = src.read_bytes()
    with pytest.raises(DatasetError, match="exists already"):
        link_file(src, src, tmp_path / "data")  # a destination that is its source
    with pytest.raises(DatasetError, match="would lie outside the dataset folder"):
        link_file(src, tmp_path / "dataset" / ".." / "data" / "b.jpg", tmp_path / "dataset")
    assert src.read_bytes() == data and not src.is_symlink()


def test_across_file_systems_images_are_symlinked_and_the_sources_untouched(tmp_path):
    """Hard links cannot cross file systems: the dataset then holds symbolic links to the sources,
    counted in the statistics, and the sources stay as they were."""
    import tempfile

    from conftest import unavailable
    from detexp.data.dataset import prepare_dataset
    from detexp.data.formats import read_project
    from detexp.data.sampling import split_by_clip

    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        unavailable("no second file system (/dev/shm) to link across")
    with tempfile.TemporaryDirectory(dir=shm) as other:
        project = Path(other) / "proj"
        coco_project(project)
        before = snapshot(project)
        read = read_project(project, ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")
        stats = prepare_dataset(
            read, split_by_clip(read.frames, 0.2, 0.2, 1), {"crane hook": 1.0, "person": 1.0}, 1, tmp_path / "out"
        )
        assert stats["image_link_method"] == ["symlink"]
        links = list((tmp_path / "out").rglob("*.jpg"))
        assert len(links) == 24 and all(p.is_symlink() and p.resolve().is_relative_to(project.resolve()) for p in links)
        assert snapshot(project) == before


def test_where_neither_link_is_allowed_images_are_copied_and_the_sources_untouched(tmp_path, monkeypatch):
    """Some file systems (FAT, some network shares) refuse hard and symbolic links: the dataset then
    holds copies, counted in the statistics. The refusal is the operating system's own error."""
    import errno

    from detexp.data.dataset import prepare_dataset
    from detexp.data.formats import read_project
    from detexp.data.sampling import split_by_clip

    def refused(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    project = tmp_path / "proj"
    coco_project(project)
    before = snapshot(project)
    monkeypatch.setattr(os, "link", refused)
    monkeypatch.setattr(Path, "symlink_to", refused)
    read = read_project(project, ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")
    stats = prepare_dataset(
        read, split_by_clip(read.frames, 0.2, 0.2, 1), {"crane hook": 1.0, "person": 1.0}, 1, tmp_path / "out"
    )
    assert stats["image_link_method"] == ["copy"]
    copies = sorted((tmp_path / "out").rglob("*.jpg"))
    assert len(copies) == 24 and not any(p.is_symlink() for p in copies)
    for copy in copies:
        assert copy.stat().st_nlink == 1 and copy.read_bytes() == (project / "images" / copy.name).read_bytes()
    assert snapshot(project) == before
