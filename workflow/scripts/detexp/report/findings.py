"""The study's answer in plain sentences: per class and comparison, the AP difference with its
interval and what it rests on (results/findings.md, the report's Findings)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .columns import Comparison, Stats
from .equal_compute import compute_gap, describe_gap
from ..job_warnings import JobWarning, warnings_section
from ..study.replicates import CALIBRATED_REPLICATES
from .verdicts import (
    FEW_REPLICATES,
    NO_SIGNAL,
    NOISE_UNMEASURED,
    ap_text,
    interval,
    neither_detects,
    percent,
    verdict,
)


def describe_run(row: dict[str, Any], varied: list[str]) -> str:
    """What sets a run apart, in words: its varied classes' asked (and kept) shares and its remedy."""
    parts = []
    for c in varied:
        asked, kept = row.get(f"fraction {c}"), row.get(f"kept share {c}")
        kept_text = "" if kept is None or _missing(kept) or abs(kept - min(asked, 1.0)) < 0.005 else f", {percent(kept)} kept"
        parts.append(f"{c} {percent(asked)} asked{kept_text}")
    if row.get(Comparison.REMEDY, "none") != "none":
        parts.append(row[Comparison.REMEDY])
    return "; ".join(parts)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _rests_on(row: dict[str, Any]) -> str:
    images = int(row[Stats.TEST_IMAGES])
    if int(row[Stats.REPLICATES]) > 1:
        return f"{int(row[Stats.REPLICATES])} replicates x {images} test images"
    return f"{images} test images, one training per run"


def sentence(row: dict[str, Any], runs: dict[str, dict[str, Any]], varied: list[str]) -> str:
    """One comparison of one class: the difference, its interval, what it rests on, and the verdict."""
    other, reference = runs.get(row[Stats.RUN], {}), runs.get(row[Stats.REFERENCE], {})
    remedy = _is_remedy(row, runs)
    against = f"its baseline {row[Stats.REFERENCE]}" if remedy else row[Stats.REFERENCE]
    head = (
        f"{row[Stats.CLASS]} AP50:95, {row[Stats.RUN]} ({describe_run(other, varied)}) vs {against} "
        f"({describe_run(reference, varied)})"
    )
    d, low, high = row[Stats.DIFFERENCE], row[Stats.LOW], row[Stats.HIGH]
    if _missing(d):
        return f"- {head}: no AP to compare (no {row[Stats.CLASS]} box in the test split)."
    text = f"{interval(d, low, high)}, 95% interval over {_rests_on(row)}"
    said = verdict(row, other.get(Comparison.REMEDY) if remedy else None).text
    if neither_detects(row):
        said += "; " + NO_SIGNAL.format(cls=row[Stats.CLASS])
    # a remedy is credited against its baseline at equal compute (fewer images at fewer data is the
    # question itself for a fraction experiment, not a caveat)
    seen, reference_seen = row.get(Stats.IMAGES_SEEN), row.get(Stats.REFERENCE_IMAGES_SEEN)
    gap = compute_gap(seen, reference_seen) if remedy else None
    if gap is not None:
        said += "; not at equal compute: " + describe_gap(gap, seen, reference_seen, "its baseline")
    return f"- {head}: {text} - {said}."


def _is_remedy(row: dict[str, Any], runs: dict[str, dict[str, Any]]) -> bool:
    """Whether a comparison sets a remedied run against its un-remedied baseline."""
    other, reference = runs.get(row[Stats.RUN], {}), runs.get(row[Stats.REFERENCE], {})
    return other.get(Comparison.REMEDY, "none") != "none" and reference.get(Comparison.REMEDY, "none") == "none"


def _won_back(r: dict[str, Any]) -> str:
    """The won-back share of a remedy's row, with its interval or why it has none."""
    share = percent(r[Stats.WON_BACK])
    if _missing(r.get(Stats.WON_BACK_LOW)):
        return f"{share} ({r.get(Stats.WON_BACK_NOTE) or 'no interval'})"
    return f"{share} [{percent(r[Stats.WON_BACK_LOW])}, {percent(r[Stats.WON_BACK_HIGH])}]"


def remedy_ranking(claims: Any, runs: dict[str, dict[str, Any]], classes: list[str], varied: list[str]) -> list[str]:
    """Per varied class, the remedies ranked by the share of the AP their baseline lost (against the
    study's reference) that they win back, each with the share's interval, the difference to the
    baseline with its interval, and what it costs the other classes (comparison_stats.csv)."""
    lines = []
    by_pair = {(r[Stats.RUN], r[Stats.REFERENCE], r[Stats.CLASS]): r for r in claims.to_dict("records")}
    for c in varied:
        ranked = []
        for (run, baseline, cls), r in by_pair.items():
            if cls != c or not _is_remedy(r, runs) or _missing(r[Stats.DIFFERENCE]):
                continue
            lost_row = next((v for (o, _, k), v in by_pair.items() if o == baseline and k == c), None)
            lost = None if lost_row is None or _missing(lost_row[Stats.DIFFERENCE]) else -lost_row[Stats.DIFFERENCE]
            share = None if _missing(r.get(Stats.WON_BACK)) else r[Stats.WON_BACK]
            others = [
                f"{k} {interval(v[Stats.DIFFERENCE], v[Stats.LOW], v[Stats.HIGH])}"
                for k in classes
                if k != c and (v := by_pair.get((run, baseline, k))) is not None and not _missing(v[Stats.DIFFERENCE])
            ]
            won = interval(r[Stats.DIFFERENCE], r[Stats.LOW], r[Stats.HIGH])
            of_lost = (
                f" of the {lost:.3f} that {baseline} lost against {r[Stats.WON_BACK_OF]}: {_won_back(r)}"
                if share is not None and lost is not None
                else ""
            )
            costs = f"; the other classes: {', '.join(others)}" if others else ""
            text = f"{run} ({runs.get(run, {}).get(Comparison.REMEDY, '')}): {won}{of_lost}{costs}"
            ranked.append((share if share is not None else float("-inf"), r[Stats.DIFFERENCE], text))
        if ranked:
            lines += ["", f"## Remedies for {c}, by the share of the lost AP50:95 each wins back", ""]
            lines += [f"{i}. {text}." for i, (_, _, text) in enumerate(sorted(ranked, reverse=True), start=1)]
            lines += [
                "",
                "Each difference is the remedy against its baseline; each share, of the AP the baseline lost, is",
                "(remedy - baseline) / (reference - baseline). Both 95% intervals cover what the difference's",
                "'interval covers' says (comparison_stats.csv), from the same resamples.",
            ]
            if (claims[claims[Stats.CLASS] == c][Stats.REPLICATES] < 2).all():
                lines += ["", f"The order is of point estimates, not a verdict: {NOISE_UNMEASURED}."]
            else:
                lines += [
                    "",
                    "The order is of point estimates: two remedies rank apart only where their won-back intervals",
                    "do not overlap.",
                ]
    return lines


def logit_adjustment_lines(table: Any, classes: list[str]) -> list[str]:
    """Per run: what post-hoc logit adjustment changes, against the same checkpoint's unadjusted
    scores (nothing where the study does not adjust). AP cannot change; F1 at the best threshold can."""
    if "logit adjustment tau" not in table:
        return []
    lines = [
        "",
        f"## Post-hoc logit adjustment (tau {table['logit adjustment tau'].iloc[0]:g})",
        "",
        "AP does not change: COCO AP ranks each class's detections on their own, and the adjustment rescales a",
        "class's scores in order. It changes which detections pass a confidence threshold (F1 at the best",
        "threshold, without and with; no interval: F1 is not resampled):",
        "",
    ]
    for r in table.to_dict("records"):
        per_class = ", ".join(f"{c} {ap_text(r[f'test F1 {c}'])} -> {ap_text(r[f'adjusted F1 {c}'])}" for c in classes)
        lines.append(
            f"- {r[Comparison.RUN]}: F1 {ap_text(r['test F1'])} at confidence {r['test F1 threshold']:g} -> "
            f"{ap_text(r['adjusted F1'])} at {r['adjusted F1 threshold']:g}; per class {per_class}."
        )
    return lines


def findings(stats: Any, table: Any, warnings: Iterable[JobWarning] = ()) -> str:
    """The Markdown findings from the paired bootstrap's table (`stats`, comparison_stats.csv) and the
    comparison (`table`, comparison.csv): claims rest on the replicate rows where the study has
    replicates, else on the per-run rows (whose intervals cover test images only). The jobs'
    `warnings` come first, where a reader starts."""
    classes = [c.removeprefix("fraction ") for c in table.columns if c.startswith("fraction ")]
    varied = [c for c in classes if table[f"fraction {c}"].nunique(dropna=True) > 1] or classes[:1]
    runs = {r[Comparison.RUN]: r for r in table.to_dict("records")}
    lines = [
        "# Findings",
        "",
        "Test-split AP50:95 of each run against its reference, with the 95% paired-bootstrap interval of the",
        "difference and what that interval covers. 'Higher' or 'lower' is said only where the interval covers",
        "training noise (replicates) and excludes 0; 'not different' means it includes 0.",
    ]
    header = len(lines)
    rows = stats[stats[Stats.METRIC] == "AP_50_95"]
    claims = rows[rows[Stats.REPLICATES] > 1] if (rows[Stats.REPLICATES] > 1).any() else rows
    if not claims.empty and (claims[Stats.REPLICATES] < 2).all():
        lines += [
            "",
            f"**One training per run**: the intervals below cover which test images were drawn, not training noise "
            f"(seed, data order), so no comparison states a verdict; replicates: {CALIBRATED_REPLICATES} would measure it.",
        ]
    replicates = claims[Stats.REPLICATES].max() if not claims.empty else 1
    if replicates > 1 and claims[Stats.REPLICATES].min() < CALIBRATED_REPLICATES:
        lines += ["", FEW_REPLICATES]
    identical = claims[claims[Stats.NOTE].fillna("") != ""][[Stats.RUN, Stats.REFERENCE]].drop_duplicates()
    if not identical.empty:
        lines += ["", "## Identical runs", ""]
        lines += [
            f"- {a} and {b} trained on identical inputs (the same settings, seed and data): one training, no difference to estimate."
            for a, b in identical.itertuples(index=False)
        ]
    compared = claims[claims[Stats.NOTE].fillna("") == ""]
    for c in classes:
        of_class = compared[compared[Stats.CLASS] == c]
        if not of_class.empty:
            lines += ["", f"## {c}", ""]
            lines += [sentence(r, runs, varied) for r in of_class.to_dict("records")]
    lines += remedy_ranking(compared, runs, classes, varied)
    lines += logit_adjustment_lines(table, classes)
    notes = [
        (r[Comparison.RUN], r[Comparison.NOTES])
        for r in table.to_dict("records")
        if isinstance(r.get(Comparison.NOTES), str) and r[Comparison.NOTES]
    ]
    if notes:
        lines += ["", "## What the runs trained on", ""]
        lines += [f"- {run}: {note}." for run, note in notes]
    if len(lines) == header:
        lines += ["", "No pair of runs to compare: set statistics.pairs, or add an experiment with every fraction at 1.0."]
    lines[header:header] = warnings_section(warnings)
    return "\n".join(lines) + "\n"


def findings_html(markdown_text: str) -> str:
    """The findings as a standalone HTML page (the report shows HTML)."""
    import markdown

    body = markdown.markdown(markdown_text)
    return f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Findings</title></head><body>{body}</body></html>\n"
