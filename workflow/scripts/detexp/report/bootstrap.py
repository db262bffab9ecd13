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

from .columns import Stats
from ..test.evaluation import ResampledAP
from ..schemas import schema_default


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


def _mean(values: list[float | None]) -> float | None:
    """The mean of AP values, or None where one is missing (no box of the class on the images)."""
    return None if any(v is None for v in values) else float(np.mean(values))


def replicate_widening(replicates: dict[str, int]) -> dict[str, float]:
    """Per side (its number of replicates R), the factor by which a resample's drawn replicates move
    from the mean of all R: sqrt(R/(R-1)) x t(0.975, nu) / z(0.975), nu = the sum of R - 1 over sides.

    Drawing R of R values with replacement spreads their mean by (R-1)/R of the variance it estimates
    (s^2/R): half of it at R = 2. And R - 1 degrees of freedom per side estimate that variance poorly,
    which a t quantile allows for where a percentile interval (normal-like) does not. Measured on
    planted truth (bench/calibration.py, BENCHMARKS.md 'Calibration'): without either factor the
    interval claimed a difference between identical settings in 22% of planted nulls at R = 2; with
    the first alone in 9-10% at R = 2-4; with both in 2-4% at R = 2-4, finding the planted effect in
    88% at R = 4 (35% at R = 3). A side with one run has nothing to widen (1)."""
    from scipy import stats

    dof = sum(r - 1 for r in replicates.values() if r > 1)
    t_over_z = float(stats.t.ppf(0.975, dof) / stats.norm.ppf(0.975)) if dof else 1.0
    return {side: float(np.sqrt(r / (r - 1))) * t_over_z if r > 1 else 1.0 for side, r in replicates.items()}


def _resampled_means(
    gt: dict[str, Any], sides: dict[str, list[list[dict[str, Any]]]], samples: int, seed: int
) -> tuple[dict[str, list[dict[int, dict[str, float | None]]]], list[dict[str, dict[int, dict[str, float | None]]]]]:
    """The two-level resampling shared by the experiment comparison and the won-back share: per side
    (an experiment: its replicates' predictions) each run's per-category AP on the whole split, and
    per resample each side's mean AP over its drawn replicates on the drawn images.

    Each resample draws the test images with replacement (once, shared by every side) and, for each
    side independently, as many replicates as it has, with replacement. The drawn replicates' mean is
    then moved away from the mean of all the side's replicates (on the same images) by
    `replicate_widening`."""
    rng = np.random.default_rng(seed)
    scorers = {side: [ResampledAP(gt, p) for p in runs] for side, runs in sides.items()}
    everything = next(iter(scorers.values()))[0].image_positions([img["id"] for img in gt["images"]])
    n = len(everything)
    cats = [int(c["id"]) for c in gt["categories"]]
    full = {side: [run.per_category(everything) for run in runs] for side, runs in scorers.items()}
    widen = replicate_widening({side: len(runs) for side, runs in scorers.items()})
    resamples = []
    for _ in range(samples):
        picks = everything[rng.integers(0, n, size=n)]
        drawn = {side: rng.integers(0, len(runs), size=len(runs)) for side, runs in scorers.items()}
        scored = {side: [run.per_category(picks) for run in runs] for side, runs in scorers.items()}
        resample = {}
        for side, runs in scored.items():
            resample[side] = {}
            for c in cats:
                resample[side][c] = {}
                for m in METRICS:
                    every_run, drawn_runs = _mean([r[c][m] for r in runs]), _mean([runs[i][c][m] for i in drawn[side]])
                    resample[side][c][m] = (
                        None if every_run is None or drawn_runs is None else every_run + widen[side] * (drawn_runs - every_run)
                    )
        resamples.append(resample)
    return full, resamples


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
    with replacement; the statistic is the mean AP of the drawn replicates on the drawn images (their
    spread around all replicates' mean widened by `replicate_widening`), other minus
    reference. Resampling only images would treat one training as the experiment's only possible
    outcome; resampling replicates as well lets seed and data-order noise widen the interval.
    """
    full, resamples = _resampled_means(gt, {"reference": reference, "other": other}, samples, seed)
    result: dict[int, dict[str, dict[str, float | None]]] = {}
    for c in [int(c["id"]) for c in gt["categories"]]:
        result[c] = {}
        for metric in METRICS:
            values = [
                r["other"][c][metric] - r["reference"][c][metric]
                for r in resamples
                if r["reference"][c][metric] is not None and r["other"][c][metric] is not None
            ]
            summary = {}
            for side, runs in full.items():
                aps = [run[c][metric] for run in runs]
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


def won_back_share(
    gt: dict[str, Any],
    reference: list[list[dict[str, Any]]],
    baseline: list[list[dict[str, Any]]],
    remedy: list[list[dict[str, Any]]],
    samples: int = schema_default("statistics.bootstrap_samples"),
    seed: int = 0,
) -> dict[int, dict[str, dict[str, Any]]]:
    """Per category id and metric: the share of the AP that `baseline` lost against `reference` which
    `remedy` wins back, (remedy - baseline) / (reference - baseline) over the replicates' mean APs
    (1: all of it; above 1: more than was lost), with a 95% interval over replicates and test images
    (one run per side: test images only) from the same resamples as the two-level bootstrap.

    A share exists only where the baseline lost AP. Where it lost none on more than 2.5% of the
    resamples, the share's 2.5th or 97.5th percentile lies among resamples where it is undefined, so
    there is no interval (NaN, and `note` says why); otherwise the percentiles are taken over the
    resamples with a loss, and `samples` says how many those were."""
    full, resamples = _resampled_means(gt, {"reference": reference, "baseline": baseline, "remedy": remedy}, samples, seed)
    result: dict[int, dict[str, dict[str, Any]]] = {}
    for c in [int(c["id"]) for c in gt["categories"]]:
        result[c] = {}
        for metric in METRICS:
            mean = {side: _mean([run[c][metric] for run in runs]) for side, runs in full.items()}
            share = None
            if None not in mean.values() and mean["reference"] - mean["baseline"] > 0:
                share = (mean["remedy"] - mean["baseline"]) / (mean["reference"] - mean["baseline"])
            shares, undefined = [], 0
            for r in resamples:
                ref, base, rem = (r[side][c][metric] for side in ("reference", "baseline", "remedy"))
                if ref is None or base is None or rem is None:
                    continue  # a resample without a box of this class says nothing
                if ref - base > 0:
                    shares.append((rem - base) / (ref - base))
                else:
                    undefined += 1
            note = ""
            if not shares or undefined > 0.025 * (len(shares) + undefined):
                low = high = np.nan
                note = f"no interval: the baseline lost no AP on {undefined} of {len(shares) + undefined} resamples"
            else:
                low, high = np.percentile(shares, [2.5, 97.5])
            result[c][metric] = {
                "share": share,
                "ci95_low": float(low),
                "ci95_high": float(high),
                "samples": len(shares),
                "note": note,
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
    (run -> training images seen), each row says both runs' figures (replicate rows: their means).

    Where the pairs chain (a reference, a baseline compared with it, a remedy compared with the
    baseline), the remedy's rows also give the share of the baseline's lost AP it wins back, with its
    interval (won_back_share): on the replicate rows where all three have replicates, else on the
    per-run rows."""
    import pandas as pd

    names = {int(c["id"]): c["name"] for c in gt["categories"]}
    digests = digests or {}
    rows = []
    for reference, other in pairs:
        identical = digests.get(reference) is not None and digests.get(reference) == digests.get(other)
        result = paired_bootstrap(gt, predictions[reference], predictions[other], 0 if identical else samples, seed)
        rows += _rows(other, reference, 1, result, names, identical, "test images")
    rows += _replicate_rows(gt, predictions, pairs, samples, seed, digests, groups or {}, names)
    table = pd.DataFrame(rows, columns=list(Stats.ROW))
    # A replicate group is named as its replicate 0 is (Run.point): the rows' level tells them apart.
    grouped = list(table[Stats.REPLICATES] > 1)
    seen_of = _images_seen(pairs, groups or {}, images_seen or {})
    table[Stats.IMAGES_SEEN] = [seen_of[g].get(run) for run, g in zip(table[Stats.RUN], grouped)]
    table[Stats.REFERENCE_IMAGES_SEEN] = [seen_of[g].get(run) for run, g in zip(table[Stats.REFERENCE], grouped)]
    table[Stats.TEST_IMAGES] = len(gt["images"])
    won = _won_back(gt, predictions, pairs, samples, seed, digests, groups or {}, names)
    keys = list(zip(table[Stats.RUN], table[Stats.REFERENCE], table[Stats.CLASS], table[Stats.METRIC], grouped))
    for column, field in WON_BACK_COLUMNS.items():
        table[column] = [won[k][field] if k in won else None for k in keys]
    # the interval excludes 0: the difference is not explained by what the interval covers (which test
    # images were drawn; with replicates, also which trainings)
    table[Stats.EXCLUDES_ZERO] = (table[Stats.LOW] > 0) | (table[Stats.HIGH] < 0)
    return table[list(Stats.ALL)]


# comparison_stats.csv columns of the won-back share, and the won_back_share fields they hold
WON_BACK_COLUMNS = {
    Stats.WON_BACK: "share",
    Stats.WON_BACK_LOW: "ci95_low",
    Stats.WON_BACK_HIGH: "ci95_high",
    Stats.WON_BACK_SAMPLES: "samples",
    Stats.WON_BACK_OF: "of",
    Stats.WON_BACK_NOTE: "note",
}


def _chains(pairs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(reference, baseline, remedy) wherever the baseline is compared with the reference and the
    remedy with the baseline."""
    return [(a, b, c) for b, c in pairs for a, b2 in pairs if b2 == b]


def _won_back(
    gt: dict[str, Any],
    predictions: dict[str, list[dict[str, Any]]],
    pairs: list[tuple[str, str]],
    samples: int,
    seed: int,
    digests: dict[str, str | None],
    groups: dict[str, str],
    names: dict[int, str],
) -> dict[tuple[str, str, str, str, bool], dict[str, Any]]:
    """The won-back share of each chain of pairs, keyed by the remedy's row (run, reference run,
    class, metric, whether a replicate row): at the replicate level where all three runs have groups
    of 2 or more replicates, else per run. A remedy that shares its baseline's training has no share
    (nothing differs)."""
    members: dict[str, list[str]] = {}
    for run, group in groups.items():
        members.setdefault(group, []).append(run)
    replicated = {run for run, group in groups.items() if len(members[group]) >= 2}
    chains: dict[tuple[tuple[str, ...], bool], list[tuple[str, str, str]]] = {}
    for chain in _chains(pairs):
        if all(run in replicated for run in chain):
            chains.setdefault((tuple(groups[run] for run in chain), True), []).append(chain)
        else:
            chains[(chain, False)] = [chain]
    won = {}
    for ((reference, baseline, remedy), grouped), runs in chains.items():
        if all(digests.get(b) is not None and digests.get(b) == digests.get(r) for _, b, r in runs):
            continue
        sides = [[predictions[chain[i]] for chain in runs] for i in range(3)]
        result = won_back_share(gt, *sides, samples, seed)
        for cat, metrics in result.items():
            for metric, r in metrics.items():
                won[(remedy, baseline, names[cat], metric, grouped)] = {**r, "of": reference}
    return won


def _images_seen(
    pairs: list[tuple[str, str]], groups: dict[str, str], images_seen: dict[str, float | None]
) -> dict[bool, dict[str, float | None]]:
    """Training images seen: under False per compared run, under True per replicate group the mean
    over its runs (None where a run's figure is missing). Apart, as a group has its replicate 0's name."""
    runs = {run for pair in pairs for run in pair}
    seen = {run: images_seen.get(run) for run in runs}
    members: dict[str, list[float | None]] = {}
    for run in runs:
        if run in groups:
            members.setdefault(groups[run], []).append(seen[run])
    means = {group: None if None in values else sum(values) / len(values) for group, values in members.items()}
    return {False: seen, True: means}  # type: ignore[dict-item]


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
            Stats.RUN: run,
            Stats.REFERENCE: reference,
            Stats.CLASS: names[cat],
            Stats.METRIC: metric,
            Stats.REPLICATES: replicates,
            Stats.AP: r["other"],
            Stats.REFERENCE_AP: r["reference"],
            Stats.DIFFERENCE: None if identical else r["difference"],
            Stats.LOW: r["ci95_low"],
            Stats.HIGH: r["ci95_high"],
            Stats.SAMPLES: r["samples"],
            Stats.COVERS: "" if identical else covers,
            Stats.REPLICATE_STD: r.get("other_std"),
            Stats.REFERENCE_REPLICATE_STD: r.get("reference_std"),
            Stats.NOTE: IDENTICAL if identical else "",
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
