"""Paired bootstrap over test images: is one run's per-class AP really different from another's?

Both runs were scored on the same fixed test split, so each bootstrap sample draws test images with
replacement once and scores both runs' predictions on that same sample (COCO AP, faster-coco-eval).
The 95% interval is the 2.5th to 97.5th percentile of the per-class AP differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .evaluation import coco_ap


def _resample(gt: dict[str, Any], by_image: dict[int, list[dict[str, Any]]], picks: np.ndarray):
    """A test set made of the picked images (repeats renamed apart) and one run's predictions on it."""
    images, annotations, predictions = [], [], []
    gt_by_image: dict[int, list[dict[str, Any]]] = {}
    for a in gt["annotations"]:
        gt_by_image.setdefault(a["image_id"], []).append(a)
    for new_id, index in enumerate(picks, start=1):
        image = gt["images"][index]
        images.append({**image, "id": new_id})
        for a in gt_by_image.get(image["id"], []):
            annotations.append({**a, "id": len(annotations) + 1, "image_id": new_id})
        for p in by_image.get(image["id"], []):
            predictions.append({**p, "image_id": new_id})
    return {"images": images, "annotations": annotations, "categories": gt["categories"]}, predictions


def _by_image(predictions: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for p in predictions:
        grouped.setdefault(p["image_id"], []).append(p)
    return grouped


def paired_bootstrap(
    gt: dict[str, Any],
    reference: list[dict[str, Any]],
    other: list[dict[str, Any]],
    samples: int = 1000,
    seed: int = 0,
) -> dict[int, dict[str, dict[str, float]]]:
    """Per category id and metric (AP_50_95, AP_50): the AP difference other - reference on the whole
    test split, and its 95% bootstrap interval over test images."""
    rng = np.random.default_rng(seed)
    ref_by_image, other_by_image = _by_image(reference), _by_image(other)
    n = len(gt["images"])
    full = {
        "reference": coco_ap(gt, reference)["per_category"],
        "other": coco_ap(gt, other)["per_category"],
    }
    cats = [int(c["id"]) for c in gt["categories"]]
    diffs: dict[int, dict[str, list[float]]] = {c: {"AP_50_95": [], "AP_50": []} for c in cats}
    for _ in range(samples):
        picks = rng.integers(0, n, size=n)
        sample_gt, sample_ref = _resample(gt, ref_by_image, picks)
        _, sample_other = _resample(gt, other_by_image, picks)
        ref_ap = coco_ap(sample_gt, sample_ref)["per_category"]
        other_ap = coco_ap(sample_gt, sample_other)["per_category"]
        for c in cats:
            for metric in ("AP_50_95", "AP_50"):
                a, b = ref_ap[c][metric], other_ap[c][metric]
                if a is not None and b is not None:  # a sample without a box of this class says nothing
                    diffs[c][metric].append(b - a)
    result: dict[int, dict[str, dict[str, float]]] = {}
    for c in cats:
        result[c] = {}
        for metric, values in diffs[c].items():
            a, b = full["reference"][c][metric], full["other"][c][metric]
            low, high = (np.percentile(values, [2.5, 97.5]) if values else (np.nan, np.nan))
            result[c][metric] = {
                "reference": a,
                "other": b,
                "difference": None if a is None or b is None else b - a,
                "ci95_low": float(low),
                "ci95_high": float(high),
                "samples": len(values),
            }
    return result


def compare_runs(
    gt: dict[str, Any], predictions: dict[str, list[dict[str, Any]]], pairs: list[tuple[str, str]], samples: int, seed: int
):
    """One row per pair, class and metric: AP of both runs, their difference and its 95% interval."""
    import pandas as pd

    names = {int(c["id"]): c["name"] for c in gt["categories"]}
    rows = []
    for reference, other in pairs:
        result = paired_bootstrap(gt, predictions[reference], predictions[other], samples, seed)
        for cat, metrics in result.items():
            for metric, r in metrics.items():
                rows.append(
                    {
                        "run": other,
                        "reference run": reference,
                        "class": names[cat],
                        "metric": metric,
                        "AP": r["other"],
                        "reference AP": r["reference"],
                        "difference": r["difference"],
                        "ci95 low": r["ci95_low"],
                        "ci95 high": r["ci95_high"],
                        "bootstrap samples": r["samples"],
                    }
                )
    columns = ["run", "reference run", "class", "metric", "AP", "reference AP", "difference", "ci95 low", "ci95 high", "bootstrap samples"]
    table = pd.DataFrame(rows, columns=columns)
    # the interval excludes 0: the difference is not explained by which test images happened to be drawn
    table["interval excludes 0"] = (table["ci95 low"] > 0) | (table["ci95 high"] < 0)
    return table
