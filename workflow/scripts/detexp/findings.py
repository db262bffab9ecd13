"""The study's answer in plain sentences: per class and comparison, the AP difference with its
interval and what it rests on (results/findings.md, the report's Findings)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .compute import compute_gap, describe_gap
from .job_warnings import JobWarning, warnings_section
from .verdicts import (
    CALIBRATED_REPLICATES,
    FEW_REPLICATES,
    NO_SIGNAL,
    NOISE_UNMEASURED,
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
    if row.get("remedy", "none") != "none":
        parts.append(row["remedy"])
    return "; ".join(parts)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _rests_on(row: dict[str, Any]) -> str:
    images = int(row["test images"])
    if int(row["replicates"]) > 1:
        return f"{int(row['replicates'])} replicates x {images} test images"
    return f"{images} test images, one training per run"


def sentence(row: dict[str, Any], runs: dict[str, dict[str, Any]], varied: list[str]) -> str:
    """One comparison of one class: the difference, its interval, what it rests on, and the verdict."""
    other, reference = runs.get(row["run"], {}), runs.get(row["reference run"], {})
    remedy = _is_remedy(row, runs)
    against = f"its baseline {row['reference run']}" if remedy else row["reference run"]
    head = (
        f"{row['class']} AP50:95, {row['run']} ({describe_run(other, varied)}) vs {against} ({describe_run(reference, varied)})"
    )
    d, low, high = row["difference"], row["ci95 low"], row["ci95 high"]
    if _missing(d):
        return f"- {head}: no AP to compare (no {row['class']} box in the test split)."
    text = f"{interval(d, low, high)}, 95% interval over {_rests_on(row)}"
    said = verdict(row, other.get("remedy") if remedy else None).text
    if neither_detects(row):
        said += "; " + NO_SIGNAL.format(cls=row["class"])
    # a remedy is credited against its baseline at equal compute (fewer images at fewer data is the
    # question itself for a fraction experiment, not a caveat)
    gap = compute_gap(row.get("images seen"), row.get("reference images seen")) if remedy else None
    if gap is not None:
        said += "; not at equal compute: " + describe_gap(gap, row["images seen"], row["reference images seen"], "its baseline")
    return f"- {head}: {text} - {said}."


def _is_remedy(row: dict[str, Any], runs: dict[str, dict[str, Any]]) -> bool:
    """Whether a comparison sets a remedied run against its un-remedied baseline."""
    other, reference = runs.get(row["run"], {}), runs.get(row["reference run"], {})
    return other.get("remedy", "none") != "none" and reference.get("remedy", "none") == "none"


def _won_back(r: dict[str, Any]) -> str:
    """The won-back share of a remedy's row, with its interval or why it has none."""
    share = percent(r["won back"])
    if _missing(r.get("won back ci95 low")):
        return f"{share} ({r.get('won back note') or 'no interval'})"
    return f"{share} [{percent(r['won back ci95 low'])}, {percent(r['won back ci95 high'])}]"


def remedy_ranking(claims: Any, runs: dict[str, dict[str, Any]], classes: list[str], varied: list[str]) -> list[str]:
    """Per varied class, the remedies ranked by the share of the AP their baseline lost (against the
    study's reference) that they win back, each with the share's interval, the difference to the
    baseline with its interval, and what it costs the other classes (comparison_stats.csv)."""
    lines = []
    by_pair = {(r["run"], r["reference run"], r["class"]): r for r in claims.to_dict("records")}
    for c in varied:
        ranked = []
        for (run, baseline, cls), r in by_pair.items():
            if cls != c or not _is_remedy(r, runs) or _missing(r["difference"]):
                continue
            lost_row = next((v for (o, _, k), v in by_pair.items() if o == baseline and k == c), None)
            lost = None if lost_row is None or _missing(lost_row["difference"]) else -lost_row["difference"]
            share = None if _missing(r.get("won back")) else r["won back"]
            others = [
                f"{k} {interval(v['difference'], v['ci95 low'], v['ci95 high'])}"
                for k in classes
                if k != c and (v := by_pair.get((run, baseline, k))) is not None and not _missing(v["difference"])
            ]
            won = interval(r["difference"], r["ci95 low"], r["ci95 high"])
            of_lost = (
                f" of the {lost:.3f} that {baseline} lost against {r['won back of']}: {_won_back(r)}"
                if share is not None and lost is not None
                else ""
            )
            costs = f"; the other classes: {', '.join(others)}" if others else ""
            text = f"{run} ({runs.get(run, {}).get('remedy', '')}): {won}{of_lost}{costs}"
            ranked.append((share if share is not None else float("-inf"), r["difference"], text))
        if ranked:
            lines += ["", f"## Remedies for {c}, by the share of the lost AP50:95 each wins back", ""]
            lines += [f"{i}. {text}." for i, (_, _, text) in enumerate(sorted(ranked, reverse=True), start=1)]
            lines += [
                "",
                "Each difference is the remedy against its baseline; each share, of the AP the baseline lost, is",
                "(remedy - baseline) / (reference - baseline). Both 95% intervals cover what the difference's",
                "'interval covers' says (comparison_stats.csv), from the same resamples.",
            ]
            if (claims[claims["class"] == c]["replicates"] < 2).all():
                lines += ["", f"The order is of point estimates, not a verdict: {NOISE_UNMEASURED}."]
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
        per_class = ", ".join(f"{c} {r[f'test F1 {c}']:.2f} -> {r[f'adjusted F1 {c}']:.2f}" for c in classes)
        lines.append(
            f"- {r['run']}: F1 {r['test F1']:.2f} at confidence {r['test F1 threshold']:g} -> "
            f"{r['adjusted F1']:.2f} at {r['adjusted F1 threshold']:g}; per class {per_class}."
        )
    return lines


def findings(stats: Any, table: Any, warnings: Iterable[JobWarning] = ()) -> str:
    """The Markdown findings from the paired bootstrap's table (`stats`, comparison_stats.csv) and the
    comparison (`table`, comparison.csv): claims rest on the replicate rows where the study has
    replicates, else on the per-run rows (whose intervals cover test images only). The jobs'
    `warnings` come first, where a reader starts."""
    classes = [c.removeprefix("fraction ") for c in table.columns if c.startswith("fraction ")]
    varied = [c for c in classes if table[f"fraction {c}"].nunique(dropna=True) > 1] or classes[:1]
    runs = {r["run"]: r for r in table.to_dict("records")}
    lines = [
        "# Findings",
        "",
        "Test-split AP50:95 of each run against its reference, with the 95% paired-bootstrap interval of the",
        "difference and what that interval covers. 'Higher' or 'lower' is said only where the interval covers",
        "training noise (replicates) and excludes 0; 'not different' means it includes 0.",
    ]
    header = len(lines)
    rows = stats[stats["metric"] == "AP_50_95"]
    claims = rows[rows["replicates"] > 1] if (rows["replicates"] > 1).any() else rows
    if not claims.empty and (claims["replicates"] < 2).all():
        lines += [
            "",
            f"**One training per run**: the intervals below cover which test images were drawn, not training noise "
            f"(seed, data order), so no comparison states a verdict; replicates: {CALIBRATED_REPLICATES} would measure it.",
        ]
    replicates = claims["replicates"].max() if not claims.empty else 1
    if replicates > 1 and claims["replicates"].min() < CALIBRATED_REPLICATES:
        lines += ["", FEW_REPLICATES]
    identical = claims[claims["note"].fillna("") != ""][["run", "reference run"]].drop_duplicates()
    if not identical.empty:
        lines += ["", "## Identical runs", ""]
        lines += [
            f"- {a} and {b} trained on identical inputs (the same settings, seed and data): one training, no difference to estimate."
            for a, b in identical.itertuples(index=False)
        ]
    compared = claims[claims["note"].fillna("") == ""]
    for c in classes:
        of_class = compared[compared["class"] == c]
        if not of_class.empty:
            lines += ["", f"## {c}", ""]
            lines += [sentence(r, runs, varied) for r in of_class.to_dict("records")]
    lines += remedy_ranking(compared, runs, classes, varied)
    lines += logit_adjustment_lines(table, classes)
    notes = [(r["run"], r["notes"]) for r in table.to_dict("records") if isinstance(r.get("notes"), str) and r["notes"]]
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
