"""Paired bootstrap over test images: is one run's per-class AP really different from another's?

Both runs were scored on the same fixed test split, so each bootstrap sample draws test images with
replacement once and scores both runs' predictions on that same sample (COCO AP, faster-coco-eval).
The 95% interval is the 2.5th to 97.5th percentile of the per-class AP differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .evaluation import ResampledAP
from .schemas import schema_default


def paired_bootstrap(
    gt: dict[str, Any],
    reference: list[dict[str, Any]],
    other: list[dict[str, Any]],
    samples: int = schema_default("statistics.bootstrap_samples"),
    seed: int = 0,
) -> dict[int, dict[str, dict[str, float]]]:
    """Per category id and metric (AP_50_95, AP_50): the AP difference other - reference on the whole
    test split, and its 95% bootstrap interval over test images."""
    rng = np.random.default_rng(seed)
    runs = {"reference": ResampledAP(gt, reference), "other": ResampledAP(gt, other)}
    everything = runs["reference"].image_positions([img["id"] for img in gt["images"]])
    n = len(everything)
    full = {name: run.per_category(everything) for name, run in runs.items()}
    cats = [int(c["id"]) for c in gt["categories"]]
    diffs: dict[int, dict[str, list[float]]] = {c: {"AP_50_95": [], "AP_50": []} for c in cats}
    for _ in range(samples):
        picks = everything[rng.integers(0, n, size=n)]
        ref_ap = runs["reference"].per_category(picks)
        other_ap = runs["other"].per_category(picks)
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
            low, high = np.percentile(values, [2.5, 97.5]) if values else (np.nan, np.nan)
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
    columns = [
        "run",
        "reference run",
        "class",
        "metric",
        "AP",
        "reference AP",
        "difference",
        "ci95 low",
        "ci95 high",
        "bootstrap samples",
    ]
    table = pd.DataFrame(rows, columns=columns)
    # the interval excludes 0: the difference is not explained by which test images happened to be drawn
    table["interval excludes 0"] = (table["ci95 low"] > 0) | (table["ci95 high"] < 0)
    return table
