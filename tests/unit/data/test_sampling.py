"""sampling: splits by clip (clips from real exporters' names, no silent one-frame clips), per-class
draws (union, exact), background frames, oversampling and repeat-factor sampling, against hand-worked values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detexp.data.formats import read_project
from detexp.data.project import Box, clip_of, Frame
from detexp.data.sampling import (
    assign_splits,
    class_repeat_factors,
    draw_training_frames,
    frame_copies,
    sample_training_frames,
    sampling_warnings,
    split_by_clip,
    split_statistics,
)
from detexp.data.sources import DatasetError
from projects import CLASSES, DEFAULT_CLIP_REGEX, coco_file, frame, roboflow_name, write_image


def test_background_fraction_keeps_some_empty_frames():
    frames = [Frame(f"p{i}", 10, 10, "c", [Box(1, [1, 1, 2, 2])]) for i in range(4)]
    frames += [Frame(f"h{i}", 10, 10, "c", [Box(0, [1, 1, 2, 2])]) for i in range(4)]
    frames += [Frame(f"n{i:02d}", 10, 10, "c") for i in range(10)]
    none = sample_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": 1.0}, seed=0)
    some = sample_training_frames(frames, CLASSES, {"crane hook": 1.0, "person": 1.0}, seed=0, background_fraction=0.3)
    assert len(none) == 8
    assert len(some) == 11 and sum(n.startswith("n") for n in some) == 3


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
        "entered through frames drawn for other classes (of them, drawn for 'car' (7): a frame drawn for several classes "
        "counts for each) (frame_sampling: union); frame_sampling: exact keeps the request"
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


def test_split_dataset_refuses_one_frame_clips_and_splits_photos_when_told(tmp_path):
    """From the command line, as in the workflow's job: a project of 24 camera photos."""
    import subprocess
    import sys

    from conftest import SCRIPTS

    names = [f"{word}_{i}x.jpg" for i, word in enumerate(["pic"] * 24)]  # no trailing frame number
    for name in names:
        write_image(tmp_path / "proj" / name)  # the job decodes every image once
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


ABC = ["A", "B", "C"]


def three_classes() -> list[Frame]:
    """20 frames: 16 with A alone, 3 with B alone, 1 with B and C. Shares: A 0.8, B 0.2, C 0.05."""
    return [frame(f"a{i:02d}", 0) for i in range(16)] + [frame(f"b{i}", 1) for i in range(3)] + [frame("bc", 1, 2)]


@pytest.mark.parametrize(
    "settings, factors",
    [
        # sqrt(0.3 / 0.8) < 1 -> 1; sqrt(0.3 / 0.2) = sqrt(1.5); sqrt(0.3 / 0.05) = sqrt(6)
        (
            {"threshold": 0.3, "mode": "sqrt", "max_repeats": 8, "frequency": "images"},
            {"A": 1.0, "B": 1.224744871391589, "C": 2.449489742783178},
        ),
        ({"threshold": 0.3, "mode": "linear", "max_repeats": 8, "frequency": "images"}, {"A": 1.0, "B": 1.5, "C": 6.0}),
        (
            {"threshold": 0.3, "mode": "linear", "max_repeats": 4, "frequency": "images"},
            {"A": 1.0, "B": 1.5, "C": 4.0},
        ),  # the cap
        ({"threshold": 1.0, "mode": "linear", "max_repeats": 8, "frequency": "images"}, {"A": 1.25, "B": 5.0, "C": 8.0}),
    ],
)
def test_class_repeat_factors_by_hand(settings, factors):
    frames = three_classes()
    got = class_repeat_factors(frames, {f.file_name: 1 for f in frames}, ABC, settings)
    assert got == pytest.approx(factors, abs=1e-12)


def boxes_unlike_frames() -> list[Frame]:
    """12 frames: 8 with one A box, 2 with four B boxes, 1 with one C box, 1 with one B and one C box.
    Images: A 8/12, B 3/12, C 2/12. Instances (19): A 8/19, B 9/19, C 2/19."""
    frames = [frame(f"a{i}", 0) for i in range(8)] + [frame(f"b{i}", 1, 1, 1, 1) for i in range(2)]
    return frames + [frame("c0", 2), frame("bc", 1, 2)]


@pytest.mark.parametrize(
    "frequency, factors",
    [
        # LVIS: t / f_img: A 0.3 / (8/12) < 1 -> 1; B 0.3 / (3/12) = 1.2; C 0.3 / (2/12) = 1.8
        ("images", {"A": 1.0, "B": 1.2, "C": 1.8}),
        # IRFS: t / sqrt(f_img * f_inst): A 0.3 / sqrt(64/228) < 1; B 0.3 / sqrt(27/228) = 0.87 < 1 -> 1;
        # C 0.3 / sqrt((2/12) * (2/19)) = 0.3 / sqrt(1/57) = 0.3 * sqrt(57)
        ("images_and_instances", {"A": 1.0, "B": 1.0, "C": 2.2649503305812248}),
    ],
)
def test_instance_aware_repeat_factors_by_hand(frequency, factors):
    frames = boxes_unlike_frames()
    settings = {"threshold": 0.3, "mode": "linear", "max_repeats": 8, "frequency": frequency}
    got = class_repeat_factors(frames, {f.file_name: 1 for f in frames}, ABC, settings)
    assert got == pytest.approx(factors, abs=1e-12)
    # copies count as images and as instances: b0 twice adds 1 image and 4 instances of B (13 images, 23
    # boxes); at threshold 0.6, B: 0.6 / (4/13) = 1.95 by images, 0.6 / sqrt(4/13 * 13/23) = 1.44 with instances
    copies = {f.file_name: 2 if f.file_name == "b0" else 1 for f in frames}
    expected_b = {"images": 0.6 * 13 / 4, "images_and_instances": 0.6 / (4 / 23) ** 0.5}[frequency]
    got_b = class_repeat_factors(frames, copies, ABC, {**settings, "threshold": 0.6})["B"]
    assert got_b == pytest.approx(expected_b, abs=1e-12)


def test_frame_copies_under_repeat_factor_sampling():
    frames = three_classes()
    linear = {"threshold": 0.3, "mode": "linear", "max_repeats": 8, "frequency": "images"}
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
        frames,
        ["A", "B"],
        {"A": 1.0, "B": 1.0},
        3,
        repeat_factor={"threshold": 0.3, "mode": "linear", "max_repeats": 8, "frequency": "images"},
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


def test_every_sampling_method_is_one_the_summary_schema_allows():
    from detexp.data.sampling import sampling_method
    from detexp.schemas import load_schema

    dataset = load_schema("experiment_summary.schema.yaml")["properties"]["dataset"]
    allowed = set(dataset["properties"]["sampling_method"]["enum"])
    rules = [None] + [
        {"threshold": 0.5, "mode": "sqrt", "max_repeats": 8, "frequency": f} for f in ("images", "images_and_instances")
    ]
    made = {sampling_method({"A": 1.0}, oversample, rule) for oversample in ({}, {"A": 2.0}) for rule in rules}
    assert made <= allowed and len(made) == 6, made - allowed
