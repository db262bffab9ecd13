"""Paired bootstrap: is one run's (or experiment's) per-class AP really different from another's?

Both runs were scored on the same fixed test split, so each bootstrap sample draws test images with
replacement once and scores both runs' predictions on that same sample (COCO AP, faster-coco-eval).
The 95% interval is the 2.5th to 97.5th percentile of the per-class AP differences. Between two runs
it covers test-set sampling only; between two experiments with replicates, a two-level bootstrap
also resamples the replicates, so that training noise (seed, data order) is covered too.
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


METRICS = ("AP_50_95", "AP_50")


def two_level_bootstrap(
    gt: dict[str, Any],
    reference: list[list[dict[str, Any]]],
    other: list[list[dict[str, Any]]],
    samples: int = schema_default("statistics.bootstrap_samples"),
    seed: int = 0,
) -> dict[int, dict[str, dict[str, float | None]]]:
    """Per category id and metric: the difference of the mean AP over `other`'s replicates (each a
    run's predictions) and over `reference`'s, with a 95% interval that covers training noise and
    test-set sampling, and each side's between-replicate standard deviation.

    Two-level (hierarchical) bootstrap: each resample draws the test images with replacement (once,
    shared by every run) and, independently for both experiments, as many replicates as each has,
    with replacement; the statistic is the mean AP of the drawn replicates on the drawn images, other
    minus reference. Resampling only images would treat one training as the experiment's only
    possible outcome; resampling replicates as well lets seed and data-order noise widen the interval.
    """
    rng = np.random.default_rng(seed)
    sides = {"reference": [ResampledAP(gt, p) for p in reference], "other": [ResampledAP(gt, p) for p in other]}
    everything = sides["reference"][0].image_positions([img["id"] for img in gt["images"]])
    n = len(everything)
    cats = [int(c["id"]) for c in gt["categories"]]
    full = {side: [run.per_category(everything) for run in runs] for side, runs in sides.items()}
    diffs: dict[int, dict[str, list[float]]] = {c: {m: [] for m in METRICS} for c in cats}
    for _ in range(samples):
        picks = everything[rng.integers(0, n, size=n)]
        drawn = {side: rng.integers(0, len(runs), size=len(runs)) for side, runs in sides.items()}
        scored = {side: {i: sides[side][i].per_category(picks) for i in set(drawn[side].tolist())} for side in sides}
        for c in cats:
            for metric in METRICS:
                means = {}
                for side in sides:
                    values = [scored[side][i][c][metric] for i in drawn[side]]
                    means[side] = None if any(v is None for v in values) else float(np.mean(values))
                if means["reference"] is not None and means["other"] is not None:
                    diffs[c][metric].append(means["other"] - means["reference"])
    result: dict[int, dict[str, dict[str, float | None]]] = {}
    for c in cats:
        result[c] = {}
        for metric, values in diffs[c].items():
            summary = {}
            for side in sides:
                aps = [run[c][metric] for run in full[side]]
                known = None if any(v is None for v in aps) else np.array(aps, float)
                summary[side] = None if known is None else float(known.mean())
                summary[f"{side}_std"] = None if known is None or len(known) < 2 else float(known.std(ddof=1))
            low, high = np.percentile(values, [2.5, 97.5]) if values else (np.nan, np.nan)
            difference = (
                None if summary["reference"] is None or summary["other"] is None else summary["other"] - summary["reference"]
            )
            result[c][metric] = {
                **summary,
                "difference": difference,
                "ci95_low": float(low),
                "ci95_high": float(high),
                "samples": len(values),
            }
    return result


IDENTICAL = "identical training: same settings, seed and data (one training, linked)"


def compare_runs(
    gt: dict[str, Any],
    predictions: dict[str, list[dict[str, Any]]],
    pairs: list[tuple[str, str]],
    samples: int,
    seed: int,
    digests: dict[str, str | None] | None = None,
    groups: dict[str, str] | None = None,
    images_seen: dict[str, float | None] | None = None,
):
    """One row per pair, class and metric: AP of both runs, their difference and its 95% interval over
    test images (one training per run: the interval does not cover training noise). With replicates
    (`groups`: run -> its experiment at its sweep point), one more row per pair of groups, class and
    metric: the mean over replicates, the two-level interval over replicates and test images, and
    the between-replicate standard deviations.

    Two runs with the same training digest (`digests`) share one training: their pair is marked
    identical, with no difference and no interval (there is nothing to compare). With `images_seen`
    (run -> training images seen), each row says both runs' figures (replicate rows: their means)."""
    import pandas as pd

    names = {int(c["id"]): c["name"] for c in gt["categories"]}
    digests = digests or {}
    rows = []
    for reference, other in pairs:
        identical = digests.get(reference) is not None and digests.get(reference) == digests.get(other)
        result = paired_bootstrap(gt, predictions[reference], predictions[other], 0 if identical else samples, seed)
        rows += _rows(other, reference, 1, result, names, identical, "test images")
    columns = [
        "run",
        "reference run",
        "class",
        "metric",
        "replicates",
        "AP",
        "reference AP",
        "difference",
        "ci95 low",
        "ci95 high",
        "bootstrap samples",
        "interval covers",
        "replicate std",
        "reference replicate std",
        "note",
    ]
    rows += _replicate_rows(gt, predictions, pairs, samples, seed, digests, groups or {}, names)
    table = pd.DataFrame(rows, columns=columns)
    seen = _images_seen(pairs, groups or {}, images_seen or {})
    table["images seen"] = [seen.get(run) for run in table["run"]]
    table["reference images seen"] = [seen.get(run) for run in table["reference run"]]
    table["test images"] = len(gt["images"])
    # the interval excludes 0: the difference is not explained by what the interval covers (which test
    # images were drawn; with replicates, also which trainings)
    table["interval excludes 0"] = (table["ci95 low"] > 0) | (table["ci95 high"] < 0)
    return table


def _images_seen(
    pairs: list[tuple[str, str]], groups: dict[str, str], images_seen: dict[str, float | None]
) -> dict[str, float | None]:
    """Training images seen per compared run, and per replicate group the mean over its runs (None
    where a run's figure is missing)."""
    runs = {run for pair in pairs for run in pair}
    seen = {run: images_seen.get(run) for run in runs}
    members: dict[str, list[float | None]] = {}
    for run in runs:
        if run in groups:
            members.setdefault(groups[run], []).append(seen[run])
    for group, values in members.items():
        seen[group] = None if None in values else sum(values) / len(values)  # type: ignore[arg-type]
    return seen


def _rows(
    run: str,
    reference: str,
    replicates: int,
    result: dict[int, dict[str, dict[str, Any]]],
    names: dict[int, str],
    identical: bool,
    covers: str,
) -> list[dict[str, Any]]:
    """The table rows of one comparison's bootstrap result, per class and metric."""
    return [
        {
            "run": run,
            "reference run": reference,
            "class": names[cat],
            "metric": metric,
            "replicates": replicates,
            "AP": r["other"],
            "reference AP": r["reference"],
            "difference": None if identical else r["difference"],
            "ci95 low": r["ci95_low"],
            "ci95 high": r["ci95_high"],
            "bootstrap samples": r["samples"],
            "interval covers": "" if identical else covers,
            "replicate std": r.get("other_std"),
            "reference replicate std": r.get("reference_std"),
            "note": IDENTICAL if identical else "",
        }
        for cat, metrics in result.items()
        for metric, r in metrics.items()
    ]


def _replicate_rows(
    gt: dict[str, Any],
    predictions: dict[str, list[dict[str, Any]]],
    pairs: list[tuple[str, str]],
    samples: int,
    seed: int,
    digests: dict[str, str | None],
    groups: dict[str, str],
    names: dict[int, str],
) -> list[dict[str, Any]]:
    """One row per pair of replicate groups (an experiment at a sweep point, `groups`: run -> group),
    class and metric, where a group has 2 or more replicates: the two-level bootstrap."""
    by_group: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for reference, other in pairs:
        if reference in groups and other in groups:
            by_group.setdefault((groups[reference], groups[other]), []).append((reference, other))
    rows = []
    for (ref_group, other_group), members in by_group.items():
        if len(members) < 2:
            continue
        identical = all(digests.get(r) is not None and digests.get(r) == digests.get(o) for r, o in members)
        result = two_level_bootstrap(
            gt, [predictions[r] for r, _ in members], [predictions[o] for _, o in members], 0 if identical else samples, seed
        )
        rows += _rows(other_group, ref_group, len(members), result, names, identical, "replicates and test images")
    return rows
