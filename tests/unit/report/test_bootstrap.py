"""The paired bootstrap over test images, and which runs are compared with which."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from detexp.report.bootstrap import compare_runs, paired_bootstrap, two_level_bootstrap, won_back_share
from detexp.study.config import validate_config
from detexp.study.experiments import Experiment
from detexp.study.validation import ConfigError
from detexp.test.evaluation import ResampledAP, coco_ap
from detexp.study.runs import expand_runs, reference_pairs, run_pairs

# the benchmark's split generator and its alternative (a fresh evaluation per resample) are the reference here
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from bootstrap_resample import resampled_anew, synthetic_split  # noqa: E402

IMAGES = [{"id": i + 1, "file_name": f"{i}.jpg", "width": 100, "height": 100} for i in range(24)]
GT = {
    "images": IMAGES,
    "categories": [{"id": 3, "name": "person"}, {"id": 7, "name": "crane hook"}],
    "annotations": [
        {"id": i + 1, "image_id": img["id"], "category_id": 3, "bbox": [10, 10, 30, 30], "area": 900, "iscrowd": 0}
        for i, img in enumerate(IMAGES)
    ]
    + [{"id": 100, "image_id": 1, "category_id": 7, "bbox": [60, 60, 20, 20], "area": 400, "iscrowd": 0}],
}


def perfect() -> list[dict]:
    return [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9} for a in GT["annotations"]
    ]


def worse() -> list[dict]:
    """Person boxes missed on every third image (a confident box elsewhere instead); hooks perfect."""
    out = []
    for a in GT["annotations"]:
        box = a["bbox"] if a["category_id"] == 7 or a["image_id"] % 3 else [60, 10, 30, 30]
        out.append(
            {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": box, "score": 0.95 if box != a["bbox"] else 0.8}
        )
    return out


def test_a_strictly_better_model_has_an_interval_above_zero():
    result = paired_bootstrap(GT, worse(), perfect(), samples=300, seed=1)
    person = result[3]["AP_50_95"]
    assert person["other"] == pytest.approx(1.0) and person["reference"] < 0.8
    assert person["difference"] == pytest.approx(1.0 - person["reference"])
    assert 0 < person["ci95_low"] <= person["difference"] <= person["ci95_high"]
    assert person["samples"] == 300
    # crane hook: one box, in image 1 only; samples without it are left out, both runs are perfect on it
    hook = result[7]["AP_50"]
    assert hook["difference"] == pytest.approx(0.0) and hook["ci95_low"] == hook["ci95_high"] == pytest.approx(0.0)
    assert 150 < hook["samples"] < 300  # about 1 - (23/24)^24 = 64% of samples contain image 1


def test_identical_predictions_differ_by_exactly_zero_and_the_table_says_so():
    table = compare_runs(GT, {"a": perfect(), "b": perfect()}, [("a", "b")], samples=50, seed=0)
    # comparison_stats.csv's header, as users' scripts read it (written out: a renamed or moved column
    # changes what they read)
    assert list(table.columns) == [
        "run", "reference run", "class", "metric", "replicates", "AP", "reference AP", "difference",
        "ci95 low", "ci95 high", "bootstrap samples", "interval covers", "replicate std",
        "reference replicate std", "note", "images seen", "reference images seen", "test images",
        "won back", "won back ci95 low", "won back ci95 high", "won back samples", "won back of",
        "won back note", "interval excludes 0",
    ]  # fmt: skip
    assert list(table["class"]) == ["person", "person", "crane hook", "crane hook"]
    assert (table["difference"] == 0).all() and not table["interval excludes 0"].any()
    better = compare_runs(GT, {"a": worse(), "b": perfect()}, [("a", "b")], samples=200, seed=0)
    row = better[(better["class"] == "person") & (better["metric"] == "AP_50_95")].iloc[0]
    assert row["run"] == "b" and row["reference run"] == "a" and bool(row["interval excludes 0"])


def test_each_run_is_paired_with_the_full_fraction_run_of_its_sweep_point_and_replicate():
    experiments = {
        "exp_25": Experiment("exp_25", "", {"person": 0.25}, "a.yaml"),
        "exp_100": Experiment("exp_100", "", {}, "b.yaml"),
    }
    cfg = validate_config(
        {
            "project_dir": "p",
            "classes": ["crane hook", "person"],
            "training": {"model": "nano", "image_size": 64},
            "sweep": {"training.epochs": [1, 2]},
            "replicates": 2,
        }
    )
    pairs = run_pairs(expand_runs(cfg, experiments), reference_pairs(cfg, experiments))
    assert pairs == [
        ("exp_100__epochs-1", "exp_25__epochs-1"),
        ("exp_100__epochs-1__rep1", "exp_25__epochs-1__rep1"),
        ("exp_100__epochs-2", "exp_25__epochs-2"),
        ("exp_100__epochs-2__rep1", "exp_25__epochs-2__rep1"),
    ]
    cfg["statistics"]["pairs"] = [["exp_25", "exp_10"]]
    with pytest.raises(ConfigError, match="statistics.pairs: \\['exp_25', 'exp_10'\\]: no experiment 'exp_10'"):
        reference_pairs(cfg, experiments)
    cfg["statistics"]["pairs"] = [["exp_25", "exp_25"]]
    with pytest.raises(ConfigError, match="statistics.pairs: \\['exp_25', 'exp_25'\\]: an experiment compared with itself"):
        reference_pairs(cfg, experiments)


def same_ap(got: dict, want: dict) -> int:
    """Assert equal per-category APs (None where no box of the class was there); returns the Nones."""
    assert got.keys() == want.keys()
    nones = 0
    for cat in want:
        assert got[cat].keys() == want[cat].keys() == {"AP_50_95", "AP_50"}
        for metric, value in want[cat].items():
            if value is None:
                nones += 1
                assert got[cat][metric] is None
            else:
                assert got[cat][metric] == pytest.approx(value, abs=1e-12)
    return nones


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resampled_ap_from_per_image_results_equals_a_fresh_evaluation(seed):
    gt, predictions = synthetic_split(seed)
    resampled = ResampledAP(gt, predictions)
    everything = resampled.image_positions([img["id"] for img in gt["images"]])
    full = resampled.per_category(everything)
    assert same_ap(full, coco_ap(gt, predictions)["per_category"]) == 0
    assert 0.1 < full[1]["AP_50_95"] < full[1]["AP_50"] < 0.95  # neither trivial nor perfect
    rng = np.random.default_rng(seed)
    for _ in range(5):
        picks = rng.integers(0, len(gt["images"]), size=len(gt["images"]))
        same_ap(resampled.per_category(everything[picks]), resampled_anew(gt, predictions, picks.tolist()))
    # a resample without the rare class's images: None for it, as from scratch
    rare = {a["image_id"] for a in gt["annotations"] if a["category_id"] == 5}
    without = np.array([i for i, img in enumerate(gt["images"]) if img["id"] not in rare][:10])
    assert same_ap(resampled.per_category(everything[without]), resampled_anew(gt, predictions, without.tolist())) == 2


def test_a_run_without_predictions_scores_zero_where_there_are_boxes():
    gt, _ = synthetic_split(0)
    empty = ResampledAP(gt, [])
    everything = empty.image_positions([img["id"] for img in gt["images"]])
    assert empty.per_category(everything)[1] == {"AP_50_95": 0.0, "AP_50": 0.0}
    no_boxes = [i for i, img in enumerate(gt["images"]) if not any(a["image_id"] == img["id"] for a in gt["annotations"])]
    assert empty.per_category(everything[no_boxes[:2]])[1] == {"AP_50_95": None, "AP_50": None}


def _pycocotools_ap50(gt: dict, predictions: list[dict], picks: list[int]) -> float:
    """AP@50 of category 3 on the resampled images, by pycocotools (not the code's faster-coco-eval):
    each pick becomes a new image, its boxes and predictions copied under the new id."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for new_id, index in enumerate(picks, start=1):
        old_id = gt["images"][index]["id"]
        images.append({**gt["images"][index], "id": new_id})
        annotations += [
            {**a, "id": len(annotations) + k + 1, "image_id": new_id}
            for k, a in enumerate(x for x in gt["annotations"] if x["image_id"] == old_id)
        ]
        results += [{**p, "image_id": new_id} for p in predictions if p["image_id"] == old_id]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations, "categories": gt["categories"]}
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.params.catIds = [3]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[1])


def test_the_interval_is_the_95_percent_percentile_interval_of_paired_resamples():
    """An independent computation: the same resamples of test images (numpy's default_rng(seed), n
    draws with replacement), both runs scored on the same resample (paired) by pycocotools, and the
    2.5 and 97.5 percentiles of the differences. A 50% interval or unpaired resampling differs."""
    reference, other = worse(), perfect()
    samples, seed = 60, 4
    got = paired_bootstrap(GT, reference, other, samples=samples, seed=seed)[3]["AP_50"]
    rng = np.random.default_rng(seed)
    n = len(GT["images"])
    differences = []
    for _ in range(samples):
        picks = rng.integers(0, n, size=n).tolist()
        differences.append(_pycocotools_ap50(GT, other, picks) - _pycocotools_ap50(GT, reference, picks))
    low, high = np.percentile(differences, [2.5, 97.5])
    assert got["samples"] == samples
    assert (got["ci95_low"], got["ci95_high"]) == pytest.approx((low, high), abs=1e-9)
    assert high - low > 0.1  # a real interval: a third of the person boxes are missed at random per resample
    narrow = np.percentile(differences, [25, 75])
    assert (got["ci95_low"], got["ci95_high"]) != pytest.approx(tuple(narrow), abs=1e-3)


def test_remedies_are_paired_with_their_unremedied_baseline():
    experiments = {
        "p100": Experiment("p100", "", {"person": 1.0}, "a.yaml"),
        "p25": Experiment("p25", "", {"person": 0.25}, "b.yaml"),
        "p25_rfs": Experiment(
            "p25_rfs",
            "",
            {"person": 0.25},
            "c.yaml",
            repeat_factor={"threshold": 0.3, "mode": "sqrt", "max_repeats": 8, "frequency": "images"},
        ),
        "p25_x4": Experiment("p25_x4", "", {"person": 0.25}, "d.yaml", oversample={"person": 4.0}),
        "p200": Experiment("p200", "", {"person": 2.0}, "e.yaml"),  # oversampled from the full set
    }
    cfg = validate_config(
        {"project_dir": "p", "classes": ["crane hook", "person"], "training": {"model": "nano", "image_size": 64}}
    )
    assert reference_pairs(cfg, experiments) == [
        ("p100", "p25"),
        ("p25", "p25_rfs"),
        ("p25", "p25_x4"),
        ("p100", "p200"),
    ]


def test_a_study_without_a_single_reference_stops_at_the_dry_run_naming_statistics_pairs():
    """Two experiments with every fraction at 1.0 (or none): the comparison would compare nothing,
    silently; it stops naming statistics.pairs and the candidates, and with the pairs named it runs."""
    cfg = validate_config({"project_dir": "p", "classes": ["car", "bicycle"], "training": {"model": "nano", "image_size": 64}})
    two_full = {
        "baseline": Experiment("baseline", "", {}, "a.yaml"),
        "bicycle_100": Experiment("bicycle_100", "", {"bicycle": 1.0}, "b.yaml"),
        "bicycle_25": Experiment("bicycle_25", "", {"bicycle": 0.25}, "c.yaml"),
    }
    with pytest.raises(ConfigError) as err:
        reference_pairs(cfg, two_full)
    message = str(err.value)
    assert "statistics.pairs: no single reference to compare the experiments without a remedy with" in message
    assert "2 candidates (baseline, bicycle_100)" in message and "statistics: {pairs: [[baseline, <other>], ...]}" in message
    none_full = {"car_50": Experiment("car_50", "", {"car": 0.5}, "a.yaml"), "bicycle_25": two_full["bicycle_25"]}
    with pytest.raises(ConfigError, match="no experiment without a remedy has every fraction at 1.0"):
        reference_pairs(cfg, none_full)
    cfg["statistics"]["pairs"] = [["baseline", "bicycle_25"]]
    assert reference_pairs(cfg, two_full) == [("baseline", "bicycle_25")]
    cfg["statistics"]["pairs"] = None
    assert reference_pairs(cfg, {"baseline": two_full["baseline"]}) == []  # one experiment: nothing to compare


# ---- training noise: the two-level bootstrap --------------------------------------------------------

# One 100x100 person box per image; a prediction [0, 0, w, 100] has IoU w / 100 with it and so matches
# at the thresholds 0.50 ... 0.95 up to w / 100: its AP@50:95 is the share of those it passes, on every
# image alike, so that resampling images cannot move it and only the replicates vary.
NOISE_IMAGES = [{"id": i + 1, "file_name": f"{i}.jpg", "width": 200, "height": 200} for i in range(12)]
NOISE_GT = {
    "images": NOISE_IMAGES,
    "categories": [{"id": 1, "name": "person"}],
    "annotations": [
        {"id": i + 1, "image_id": img["id"], "category_id": 1, "bbox": [0, 0, 100, 100], "area": 10000, "iscrowd": 0}
        for i, img in enumerate(NOISE_IMAGES)
    ],
}


def boxes_of_width(width: float) -> list[dict]:
    return [{"image_id": img["id"], "category_id": 1, "bbox": [0, 0, width, 100], "score": 0.9} for img in NOISE_IMAGES]


# Replicates of the reference experiment score AP 1.0 (exact boxes); the other's three replicates 0.5, 0.6
# and 0.7 (IoU 0.725, 0.775, 0.825 pass 5, 6 and 7 of the 10 thresholds).
REFERENCE_REPLICATES = [boxes_of_width(100)] * 3
OTHER_REPLICATES = [boxes_of_width(72.5), boxes_of_width(77.5), boxes_of_width(82.5)]
# The extreme draws' distance from the other side's mean 0.6 (0.1), widened by sqrt(R/(R-1)) at R = 3 and
# by t(0.975) / z(0.975) at the sides' R - 1 degrees of freedom summed: 4 for two sides, 6 for three
T_OVER_Z = {dof: stats.t.ppf(0.975, dof) / stats.norm.ppf(0.975) for dof in (4, 6)}
WIDENED = 0.1 * (3 / 2) ** 0.5 * T_OVER_Z[4]
WIDENED_OF_THREE = 0.1 * (3 / 2) ** 0.5 * T_OVER_Z[6]


def test_each_replicate_has_the_ap_the_fixture_intends():
    aps = [coco_ap(NOISE_GT, p)["per_category"][1]["AP_50_95"] for p in OTHER_REPLICATES]
    assert aps == pytest.approx([0.5, 0.6, 0.7])


def test_the_two_level_interval_covers_the_spread_between_replicates():
    result = two_level_bootstrap(NOISE_GT, REFERENCE_REPLICATES, OTHER_REPLICATES, samples=2000, seed=3)[1]
    person = result["AP_50_95"]
    assert person["reference"] == pytest.approx(1.0) and person["other"] == pytest.approx(0.6)
    assert person["difference"] == pytest.approx(-0.4)
    # By hand: the other side's mean over 3 draws with replacement from {0.5, 0.6, 0.7} is 0.5 with
    # probability 1/27 = 3.7% and 0.7 likewise; both exceed 2.5%, so they are the 2.5th and 97.5th
    # percentiles, each moved from the mean 0.6 by WIDENED (3 draws of 3 spread the mean by 2/3 of the
    # variance s^2/3, and 2 + 2 degrees of freedom estimate it poorly). Without the widening it would
    # be [-0.5, -0.3]; images alone (one training per side) would give [-0.4, -0.4].
    assert person["ci95_low"] == pytest.approx(-0.4 - WIDENED) and person["ci95_high"] == pytest.approx(-0.4 + WIDENED)
    assert person["other_std"] == pytest.approx(0.1) and person["reference_std"] == pytest.approx(0.0)
    assert person["samples"] == 2000


def test_replicate_rows_join_the_per_run_rows_and_say_what_each_interval_covers():
    predictions = {f"ref{i}": p for i, p in enumerate(REFERENCE_REPLICATES)} | {
        f"oth{i}": p for i, p in enumerate(OTHER_REPLICATES)
    }
    pairs = [(f"ref{i}", f"oth{i}") for i in range(3)]
    groups = {f"ref{i}": "ref" for i in range(3)} | {f"oth{i}": "oth" for i in range(3)}
    table = compare_runs(NOISE_GT, predictions, pairs, samples=2000, seed=1, groups=groups)
    per_run = table[table["replicates"] == 1]
    assert len(per_run) == 6 and set(per_run["interval covers"]) == {"test images"}
    row = per_run[(per_run["run"] == "oth0") & (per_run["metric"] == "AP_50_95")].iloc[0]
    assert row["ci95 low"] == pytest.approx(-0.5) and row["ci95 high"] == pytest.approx(-0.5)  # images cannot move it
    grouped = table[(table["replicates"] == 3) & (table["metric"] == "AP_50_95")].iloc[0]
    assert (grouped["run"], grouped["reference run"], grouped["interval covers"]) == ("oth", "ref", "replicates and test images")
    assert grouped["difference"] == pytest.approx(-0.4) and grouped["replicate std"] == pytest.approx(0.1)
    assert grouped["ci95 low"] == pytest.approx(-0.4 - WIDENED) and grouped["ci95 high"] == pytest.approx(-0.4 + WIDENED)
    # without replicate groups, only the per-run rows (whose interval covers test images alone)
    assert compare_runs(NOISE_GT, predictions, pairs, 50, 1)["replicates"].eq(1).all()


def test_runs_that_share_a_training_are_marked_identical_with_no_difference():
    digests = {"a": "d1", "b": "d1", "c": "d2"}
    table = compare_runs(GT, {"a": perfect(), "b": perfect(), "c": worse()}, [("a", "b"), ("a", "c")], 100, 0, digests)
    same = table[table["run"] == "b"]
    assert same["note"].str.startswith("identical training").all() and same["difference"].isna().all()
    assert not same["interval excludes 0"].any() and (same["bootstrap samples"] == 0).all()
    other = table[(table["run"] == "c") & (table["class"] == "person") & (table["metric"] == "AP_50_95")].iloc[0]
    assert other["note"] == "" and other["difference"] < 0 and bool(other["interval excludes 0"])


def test_each_row_gives_both_runs_images_seen_and_replicate_rows_their_means():
    predictions = {f"ref{i}": p for i, p in enumerate(REFERENCE_REPLICATES)} | {
        f"oth{i}": p for i, p in enumerate(OTHER_REPLICATES)
    }
    pairs = [(f"ref{i}", f"oth{i}") for i in range(3)]
    groups = {f"ref{i}": "ref" for i in range(3)} | {f"oth{i}": "oth" for i in range(3)}
    seen = {"ref0": 100, "ref1": 110, "ref2": 120, "oth0": 200, "oth1": 260, "oth2": None}
    table = compare_runs(NOISE_GT, predictions, pairs, samples=20, seed=1, groups=groups, images_seen=seen)
    first = table[table["run"] == "oth0"].iloc[0]
    assert (first["images seen"], first["reference images seen"]) == (200, 100)
    grouped = table[table["replicates"] == 3].iloc[0]
    assert grouped["reference images seen"] == pytest.approx(110)  # the mean of 100, 110, 120
    assert grouped["images seen"] is None or grouped["images seen"] != grouped["images seen"]  # one missing: no mean


# ---- the share of the lost AP a remedy wins back -----------------------------------------------------

AP_05, AP_06, AP_07, AP_10 = (boxes_of_width(w) for w in (72.5, 77.5, 82.5, 100))


def test_the_won_back_share_of_single_runs_against_a_hand_computation():
    # the baseline lost 1.0 - 0.5; the remedy wins back 0.7 - 0.5 of it: 40%, on every resample alike
    result = won_back_share(NOISE_GT, [AP_10], [AP_05], [AP_07], samples=200, seed=2)[1]["AP_50_95"]
    assert result["share"] == pytest.approx(0.4)
    assert (result["ci95_low"], result["ci95_high"]) == pytest.approx((0.4, 0.4)) and result["samples"] == 200
    assert result["note"] == ""


def test_the_won_back_interval_covers_the_remedys_replicates():
    result = won_back_share(NOISE_GT, [AP_10] * 3, [AP_05] * 3, [AP_05, AP_06, AP_07], samples=2000, seed=3)[1]
    share = result["AP_50_95"]
    # (0.6 - 0.5) / (1.0 - 0.5); the remedy's mean over 3 draws is 0.5 or 0.7 with probability 1/27 each
    # (3.7% > 2.5%), each moved from 0.6 as three sides of 3 replicates widen it (6 degrees of freedom),
    # so the percentiles are (0.6 -+ WIDENED_OF_THREE - 0.5) / 0.5
    assert share["share"] == pytest.approx(0.2)
    assert (share["ci95_low"], share["ci95_high"]) == pytest.approx((0.2 - 2 * WIDENED_OF_THREE, 0.2 + 2 * WIDENED_OF_THREE))


def test_no_won_back_interval_where_the_baseline_may_have_lost_nothing():
    # the reference's mean falls to the baseline's 0.5 or below when all three draws are its 0.5 replicate: 1/27
    result = won_back_share(NOISE_GT, [AP_05, AP_06, AP_07], [AP_05] * 3, [AP_06] * 3, samples=2000, seed=3)[1]
    share = result["AP_50_95"]
    assert share["share"] == pytest.approx(0.1 / 0.1)
    assert np.isnan(share["ci95_low"]) and np.isnan(share["ci95_high"])
    assert share["note"].startswith("no interval: the baseline lost no AP on ") and share["note"].endswith(" of 2000 resamples")
    # and none at all where the baseline lost nothing on the whole split
    assert won_back_share(NOISE_GT, [AP_05], [AP_05], [AP_06], samples=20, seed=3)[1]["AP_50_95"]["share"] is None


def test_the_remedy_rows_of_chained_pairs_carry_the_won_back_share():
    runs = {"full": AP_10, "base": AP_05, "rem": AP_07}
    predictions = {f"{name}{i}": p for name, p in runs.items() for i in range(2)}
    groups = {f"{name}{i}": name for name in runs for i in range(2)}
    pairs = [(f"full{i}", f"base{i}") for i in range(2)] + [(f"base{i}", f"rem{i}") for i in range(2)]
    table = compare_runs(NOISE_GT, predictions, pairs, samples=50, seed=1, groups=groups)
    remedy = table[(table["run"] == "rem") & (table["metric"] == "AP_50_95")].iloc[0]
    assert remedy["won back"] == pytest.approx(0.4) and remedy["won back of"] == "full"
    assert (remedy["won back ci95 low"], remedy["won back ci95 high"]) == pytest.approx((0.4, 0.4))
    # the replicate rows carry it; the per-run rows and the baseline's own rows do not
    assert table[table["run"] != "rem"]["won back"].isna().all()
    assert table[table["run"] == "rem0"]["won back"].isna().all()
    # without replicate groups, each replicate's chain on its per-run rows
    per_run = compare_runs(NOISE_GT, predictions, pairs, samples=20, seed=1)
    assert per_run[per_run["run"] == "rem1"]["won back"].iloc[0] == pytest.approx(0.4)


def test_a_group_named_as_its_replicate_0_keeps_that_run_s_own_figures():
    """The workflow names a replicate group as its replicate 0 (Run.point): replicate 0's per-run rows
    keep its own images seen and carry no group-level won-back share, as the other replicates' rows."""
    runs = {"full": AP_10, "base": AP_05, "rem": AP_07}
    ids = {name: [name, f"{name}_rep1"] for name in runs}
    predictions = {run: runs[name] for name in runs for run in ids[name]}
    groups = {run: name for name in runs for run in ids[name]}
    pairs = [(ids["full"][i], ids["base"][i]) for i in range(2)] + [(ids["base"][i], ids["rem"][i]) for i in range(2)]
    seen = {"full": 100, "full_rep1": 120, "base": 50, "base_rep1": 70, "rem": 80, "rem_rep1": 90}
    table = compare_runs(NOISE_GT, predictions, pairs, samples=20, seed=1, groups=groups, images_seen=seen)
    person = table[table["metric"] == "AP_50_95"].set_index(["run", "replicates"])
    assert (person.loc[("rem", 1), "images seen"], person.loc[("rem", 1), "reference images seen"]) == (80, 50)
    assert (person.loc[("rem", 2), "images seen"], person.loc[("rem", 2), "reference images seen"]) == (85, 60)
    assert person.loc[("rem", 2), "won back"] == pytest.approx(0.4)
    assert np.isnan(person.loc[("rem", 1), "won back"]) and np.isnan(person.loc[("rem_rep1", 1), "won back"])
