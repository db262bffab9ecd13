"""The paired bootstrap over test images, and which runs are compared with which."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from detexp.bootstrap import compare_runs, paired_bootstrap
from detexp.config import ConfigError, Experiment, validate_config
from detexp.evaluation import ResampledAP, coco_ap
from detexp.runs import expand_runs, reference_pairs, run_pairs

# the benchmark's split generator and its alternative (a fresh evaluation per resample) are the reference here
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
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
            "p25_rfs", "", {"person": 0.25}, "c.yaml", repeat_factor={"threshold": 0.3, "mode": "sqrt", "max_repeats": 8}
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
