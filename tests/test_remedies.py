"""Remedies for imbalance: oversampling and repeat-factor sampling, checked against hand-worked values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from detexp.dataset import prepare_dataset
from detexp.formats import read_project
from detexp.project import Box, Frame
from detexp.sampling import class_repeat_factors, frame_copies, split_by_clip

ABC = ["A", "B", "C"]


def frame(name: str, *labels: int) -> Frame:
    return Frame(name, 100, 100, name, [Box(label, [1, 1, 10, 10]) for label in labels])


def three_classes() -> list[Frame]:
    """20 frames: 16 with A alone, 3 with B alone, 1 with B and C. Shares: A 0.8, B 0.2, C 0.05."""
    return [frame(f"a{i:02d}", 0) for i in range(16)] + [frame(f"b{i}", 1) for i in range(3)] + [frame("bc", 1, 2)]


@pytest.mark.parametrize(
    "settings, factors",
    [
        # sqrt(0.3 / 0.8) < 1 -> 1; sqrt(0.3 / 0.2) = sqrt(1.5); sqrt(0.3 / 0.05) = sqrt(6)
        ({"threshold": 0.3, "mode": "sqrt", "max_repeats": 8}, {"A": 1.0, "B": 1.224744871391589, "C": 2.449489742783178}),
        ({"threshold": 0.3, "mode": "linear", "max_repeats": 8}, {"A": 1.0, "B": 1.5, "C": 6.0}),
        ({"threshold": 0.3, "mode": "linear", "max_repeats": 4}, {"A": 1.0, "B": 1.5, "C": 4.0}),  # the cap
        ({"threshold": 1.0, "mode": "linear", "max_repeats": 8}, {"A": 1.25, "B": 5.0, "C": 8.0}),
    ],
)
def test_class_repeat_factors_by_hand(settings, factors):
    frames = three_classes()
    got = class_repeat_factors(frames, {f.file_name: 1 for f in frames}, ABC, settings)
    assert got == pytest.approx(factors, abs=1e-12)


def test_frame_copies_under_repeat_factor_sampling():
    frames = three_classes()
    linear = {"threshold": 0.3, "mode": "linear", "max_repeats": 8}
    copies, _ = frame_copies(frames, ABC, {c: 1.0 for c in ABC}, 7, repeat_factor=linear)
    assert all(copies[f"a{i:02d}"] == 1 for i in range(16))  # r = 1
    assert all(copies[f"b{i}"] in (1, 2) for i in range(3))  # r = 1.5: floor or ceil
    assert copies["bc"] == 6  # a frame with two classes takes the larger factor, 6 (C), not 1.5 (B)
    capped, _ = frame_copies(frames, ABC, {c: 1.0 for c in ABC}, 7, repeat_factor={**linear, "max_repeats": 4})
    assert capped["bc"] == 4
    sqrt, _ = frame_copies(frames, ABC, {c: 1.0 for c in ABC}, 7, repeat_factor={**linear, "mode": "sqrt"})
    assert sqrt["bc"] in (2, 3) and all(sqrt[f"b{i}"] in (1, 2) for i in range(3))
    again, _ = frame_copies(frames, ABC, {c: 1.0 for c in ABC}, 7, repeat_factor=linear)
    assert again == copies  # deterministic for a seed


def test_fractional_repeat_factors_round_up_with_probability_of_the_fraction():
    # 1,600 frames with A, 400 with B: B's share 0.2, linear factor 0.3 / 0.2 = 1.5 -> half of them twice
    frames = [frame(f"a{i}", 0) for i in range(1600)] + [frame(f"b{i}", 1) for i in range(400)]
    copies, _ = frame_copies(
        frames, ["A", "B"], {"A": 1.0, "B": 1.0}, 3, repeat_factor={"threshold": 0.3, "mode": "linear", "max_repeats": 8}
    )
    doubled = sum(copies[f"b{i}"] == 2 for i in range(400))
    assert {copies[f"b{i}"] for i in range(400)} == {1, 2}
    assert 160 < doubled < 240  # binomial(400, 0.5): mean 200, sd 10


def test_oversampling_counts_are_exact_and_nested():
    frames = [frame(f"p{i:02d}", 0) for i in range(20)]
    totals = {}
    doubled = {}
    for factor in (1.0, 1.5, 1.75, 2.0, 2.5):
        copies, _ = frame_copies(frames, ["P"], {"P": factor}, 11)
        totals[factor] = sum(copies.values())
        doubled[factor] = {n for n, k in copies.items() if k > int(factor)}
        assert set(copies.values()) <= {int(factor), int(factor) + 1}
    # 20 frames once; + half again; + 15 (round(0.75 * 20)); all twice; all twice + half a third time
    assert totals == {1.0: 20, 1.5: 30, 1.75: 35, 2.0: 40, 2.5: 50}
    assert doubled[1.5] < doubled[1.75]  # the frames repeated at 1.5 are among those repeated at 1.75
    assert doubled[1.5] == doubled[2.5]  # the same ranking decides the extra copy at every whole part


def test_oversample_after_the_draw_and_the_largest_count_of_a_frames_classes():
    frames = [frame(f"p{i:02d}", 0) for i in range(20)] + [frame("both", 0, 1), frame("h", 1)]
    copies, _ = frame_copies(frames, ["P", "H"], {"P": 1.0, "H": 3.0}, 5, oversample={"P": 2.0})
    assert all(copies[f"p{i:02d}"] == 2 for i in range(20))
    assert copies["both"] == 3 and copies["h"] == 3  # H's 3 beats P's 2


def write_project(root: Path, clips: int = 8, per_clip: int = 3) -> None:
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


def test_repeats_are_entries_of_the_training_file_with_unique_ids_and_counted(tmp_path):
    write_project(tmp_path / "proj")
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


def test_rfdetr_trains_on_a_repeated_dataset_and_sees_every_copy(tmp_path):
    """rfdetr's own COCO loader yields every entry (copies included); a real one-epoch training on it
    counts them in its images and its images seen."""
    from rfdetr.datasets.coco import CocoDetection

    from detexp.training import TrainingPaths, train

    write_project(tmp_path / "proj", clips=6, per_clip=3)
    project = read_project(tmp_path / "proj", ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")
    splits = split_by_clip(project.frames, 0.2, 0.2, seed=1)
    prepare_dataset(project, splits, {"crane hook": 1.0, "person": 1.0}, 1, tmp_path / "data", oversample={"person": 3.0})
    ann = tmp_path / "data/train/_annotations.coco.json"
    entries = json.loads(ann.read_text())["images"]
    dataset = CocoDetection(tmp_path / "data/train", ann, transforms=None, remap_category_ids=True)
    assert len(dataset) == len(entries) > len({e["file_name"] for e in entries})
    repeated = [i for i, e in enumerate(entries) if entries[i - 1]["file_name"] == e["file_name"]][0]
    (image_a, target_a), (image_b, target_b) = dataset[repeated - 1], dataset[repeated]
    assert np.array_equal(np.asarray(image_a), np.asarray(image_b))  # the same picture...
    assert int(target_a["image_id"]) != int(target_b["image_id"])  # ...as two training images
    assert target_a["labels"].tolist() == target_b["labels"].tolist()

    training = {
        "model": "nano",
        "epochs": 1,
        "batch_size": 4,
        "lr": 1e-4,
        "image_size": 64,
        "patience": None,
        "pretrain_weights": None,
        "multi_scale": False,
        "num_workers": 0,
        "extra": {},
    }
    summary = train(
        tmp_path / "data", TrainingPaths.of_run(tmp_path / "run"), ["crane hook", "person"], training, seed=1, log=lambda m: None
    )
    assert summary["train_images"] == len(entries)
    assert summary["optimizer_steps"] == math.ceil(len(entries) / 4)  # one epoch, padded to whole batches
    assert summary["training_images_seen"] == 4 * math.ceil(len(entries) / 4)


def test_a_bad_remedy_fails_the_dry_run_naming_file_key_and_value(workflow_copy):
    from conftest import snakemake

    path = workflow_copy / "config/remedies/person_25_rfs.yaml"
    path.write_text(path.read_text().replace("mode: sqrt", "mode: log"))
    proc = snakemake(workflow_copy, "-n", "--configfile", "config/demo.yaml", "config/remedies.yaml", check=False)
    assert proc.returncode != 0
    assert "config/remedies/person_25_rfs.yaml:\n  repeat_factor.mode: 'log' is not allowed - one of: sqrt, linear" in proc.stdout


def test_the_remedies_study_pairs_each_remedy_with_its_baseline(workflow_copy):
    """The documented command on the demo (two of its experiments, to keep the suite short): the
    comparison tells the remedy apart and the paired bootstrap compares it with its baseline."""
    import pandas as pd

    from conftest import snakemake

    # The demo's person frames are 6 of 14 after the 25% draw (most come with a hook): a linear factor
    # at threshold 1 repeats each 1 / (6/14) = 2.33 times, so the remedy visibly acts.
    path = workflow_copy / "config/remedies/person_25_rfs.yaml"
    path.write_text(path.read_text().replace("threshold: 0.5", "threshold: 1.0").replace("mode: sqrt", "mode: linear"))
    snakemake(
        workflow_copy,
        "--cores",
        "2",
        "--configfile",
        "config/demo.yaml",
        "config/remedies.yaml",
        "--config",
        "experiments=[person_25, person_25_rfs]",
        "replicates=2",
        "test_videos=[]",
        "--",
        "results/comparison_stats.csv",
        "results/comparison.csv",
        "results/findings.md",
    )
    stats = pd.read_csv(workflow_copy / "results/comparison_stats.csv")
    assert set(zip(stats["reference run"], stats["run"])) == {
        ("person_25", "person_25_rfs"),  # replicate 0, and both replicates together (replicates 2)
        ("person_25__rep1", "person_25_rfs__rep1"),
    }, stats
    # the findings state what the replicate rows say, and what they rest on
    findings = (workflow_copy / "results/findings.md").read_text()
    claims = stats[(stats["replicates"] == 2) & (stats["metric"] == "AP_50_95")]
    assert len(claims) == 2 and set(claims["interval covers"]) == {"replicates and test images"}
    for row in claims.to_dict("records"):
        numbers = f"{row['difference']:+.2f} [{row['ci95 low']:+.2f}, {row['ci95 high']:+.2f}]"
        rests_on = f"95% interval over 2 replicates x {row['test images']} test images"
        line = next(line for line in findings.splitlines() if line.startswith(f"- {row['class']} AP50:95, person_25_rfs "))
        assert "vs its baseline person_25" in line and f"{numbers}, {rests_on}" in line, line
        assert line.endswith("not different: the interval includes 0.") != bool(row["interval excludes 0"]), line
    # claims rest on the replicate rows, not on single runs
    assert not any("__rep1" in line for line in findings.splitlines() if "AP50:95" in line)
    table = pd.read_csv(workflow_copy / "results/comparison.csv").set_index("run")
    assert table.loc["person_25", "sampling"] == "fractions"
    assert table.loc["person_25_rfs", "sampling"] == "repeat factor"
    # the rare class's frames are repeated: more training images and more compute than its baseline
    assert table.loc["person_25_rfs", "train images person"] > table.loc["person_25", "train images person"]
    assert table.loc["person_25_rfs", "train frames person"] == table.loc["person_25", "train frames person"]
    assert table.loc["person_25_rfs", "training images seen"] > table.loc["person_25", "training images seen"]
    stats_rfs = json.loads((workflow_copy / "results/person_25_rfs/dataset_stats.json").read_text())
    train = stats_rfs["splits"]["train"]
    share = train["classes"]["person"]["frames"] / train["frames"]
    assert stats_rfs["class_repeat_factors"]["person"] == pytest.approx(1.0 / share)
    assert set(train["copies_per_frame"]) > {"1"}


def test_the_command_line_repeat_factor_takes_the_schema_defaults():
    """prepare_dataset.py --repeat-factor '{"threshold": 0.3}' behaves as the same experiment key."""
    import argparse

    from detexp.cli import json_setting

    parse = json_setting("repeat_factor", "experiment.schema.yaml")
    assert parse('{"threshold": 0.3}') == {"threshold": 0.3, "mode": "sqrt", "max_repeats": 8}
    assert parse('{"threshold": 0.3, "mode": "linear"}')["mode"] == "linear"
    assert parse("null") is None
    with pytest.raises(argparse.ArgumentTypeError, match="'cubic' is not one of \\['sqrt', 'linear'\\]"):
        parse('{"threshold": 0.3, "mode": "cubic"}')
    with pytest.raises(argparse.ArgumentTypeError, match="'threshold' is a required property"):
        parse('{"mode": "sqrt"}')
