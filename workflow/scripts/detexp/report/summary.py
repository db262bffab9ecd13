"""One summary per run (an experiment at one sweep point and replicate), and the comparison table
across runs."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .columns import Comparison, Stats
from .equal_compute import compute_gap
from .verdicts import ap_text, interval, neither_detects, percent
from .remedy_labels import remedy_of
from ..schemas import load_schema
from ..tables import html_page
from ..layout import DETECTIONS_SUFFIX
from ..train.metrics import read_metrics

SUMMARY_SCHEMA_VERSION = 2  # 2: held-out test metrics (`test`)


def _read_json(path: str | Path) -> Any:
    with open(path) as f:
        return json.load(f)


def validation_metrics(metrics_csv: str | Path, best_epoch: int | None, classes: list[str]) -> dict[str, Any]:
    """Validation metrics of the best epoch, overall and per class, from rfdetr's metrics.csv."""
    rows = {int(r["epoch"]): r for r in read_metrics(Path(metrics_csv))}
    row = rows.get(best_epoch) if best_epoch is not None else None
    if row is None:
        return {"epoch": None, "mAP_50_95": None, "mAP_50": None, "per_class_AP_50_95": {c: None for c in classes}}

    def get(key: str) -> float | None:
        # COCO (and so rfdetr) reports -1 for a class with no box in the validation split: no value
        value = row.get(key)
        return None if value is None or math.isnan(value) or value < 0 else round(value, 5)

    return {
        "epoch": best_epoch,
        "mAP_50_95": get("val/mAP_50_95"),
        "mAP_50": get("val/mAP_50"),
        "mAR": get("val/mAR"),
        "per_class_AP_50_95": {c: get(f"val/AP/{c}") for c in classes},
    }


def job_benchmark(path: str | Path) -> dict[str, float | None] | None:
    """Wall time, peak memory and CPU time of one job from its Snakemake benchmark file (last
    attempt), or None if there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    with open(path) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        return None
    row = rows[-1]

    def number(key: str) -> float | None:
        try:
            return round(float(row[key]), 3)
        except (KeyError, TypeError, ValueError):  # "-" or a column this Snakemake does not write
            return None

    return {"wall_s": number("s"), "max_rss_mb": number("max_rss"), "cpu_time_s": number("cpu_time")}


def video_stats(detections: dict[str, Any]) -> dict[str, Any]:
    """What one test video's detection JSON says, in a few numbers."""
    confidences: dict[str, list[float]] = {c: [] for c in detections["class_names"]}
    for frame in detections["frames"]:
        for det in frame["detections"]:
            confidences[det["class_name"]].append(det["confidence"])
    return {
        "frames": detections["video"]["frame_count"],
        "processed_frames": len(detections["frames"]),
        "detections": detections["totals"],
        "mean_confidence": {c: (round(sum(v) / len(v), 4) if v else None) for c, v in confidences.items()},
        "frames_per_s": detections.get("frames_per_s"),
    }


def detections_by_video(paths: list[str | Path]) -> dict[str, Path]:
    """Video name -> detection JSON, from `<video>_detections.json` file names."""
    return {Path(p).name.removesuffix(DETECTIONS_SUFFIX): Path(p) for p in paths}


def build_summary(
    config_path: str | Path,
    dataset_stats_path: str | Path,
    training_summary_path: str | Path,
    metrics_csv: str | Path,
    evaluation_path: str | Path,
    detection_paths: list[str | Path],
    benchmark_paths: dict[str, str | Path] | None = None,
    adjusted_path: str | Path | None = None,
) -> dict[str, Any]:
    """Collect one experiment's config, data, training, metrics (and the logit-adjusted ones, where
    there are), per-video results and job costs; checked against
    workflow/schemas/experiment_summary.schema.yaml."""
    with open(config_path) as f:
        config = yaml.safe_load(f)
    stats = _read_json(dataset_stats_path)
    training = _read_json(training_summary_path)
    experiment = config["experiment"]
    classes = config["classes"]
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "experiment": experiment["name"],
        "run": config.get("run") or {"id": experiment["name"], "swept": {}, "replicate": 0, "seed": config["seed"]},
        "description": experiment["description"],
        "config": config,
        "dataset": {k: v for k, v in stats.items() if k != "train_frames"},
        "training": training,
        "validation": validation_metrics(metrics_csv, training.get("best_epoch"), classes),
        "test": {k: v for k, v in _read_json(evaluation_path).items() if k != "schema_version"},
        "videos": {name: video_stats(_read_json(p)) for name, p in sorted(detections_by_video(detection_paths).items())},
        "jobs": {job: job_benchmark(p) for job, p in sorted((benchmark_paths or {}).items())},
    }
    if adjusted_path is not None:
        adjusted = _read_json(adjusted_path)
        keys = ("logit_adjustment", "mAP_50_95", "mAP_50", "f1", "best_f1_threshold", "precision", "recall", "per_class")
        summary["test_logit_adjusted"] = {k: adjusted[k] for k in keys}
    jsonschema.validate(summary, load_schema("experiment_summary.schema.yaml"))
    return summary


def run_info(summary: dict[str, Any]) -> dict[str, Any]:
    """Which run a summary belongs to (summaries without one are single runs of their experiment)."""
    return summary.get("run") or {"id": summary["experiment"], "swept": {}, "replicate": 0, "seed": None}


def comparison_row(summary: dict[str, Any]) -> dict[str, Any]:
    """The flat row of one experiment in the comparison table."""
    classes = summary["config"]["classes"]
    fractions = summary["config"]["experiment"]["frame_sample_fractions"]
    train = summary["dataset"]["splits"]["train"]["classes"]
    ratio = summary["dataset"]["achieved_ratio"]["frames"]
    val = summary["validation"]
    run = run_info(summary)
    row: dict[str, Any] = {Comparison.RUN: run["id"], Comparison.EXPERIMENT: summary["experiment"]}
    for key, value in run["swept"].items():
        row[key] = value
    row["replicate"] = run["replicate"]
    row["seed"] = run["seed"]
    row["description"] = summary["description"]
    per_class = summary["dataset"].get("per_class_sampling", {})
    for c in classes:
        row[f"fraction {c}"] = fractions[c]
        row[f"kept share {c}"] = per_class.get(c, {}).get("kept_share")
    row["sampling"] = summary["dataset"].get("sampling_method", "fractions")
    row[Comparison.REMEDY] = remedy_of(summary)
    row["frame sampling"] = summary["dataset"].get("frame_sampling", "union")
    for c in classes:
        row[f"train frames {c}"] = train[c]["frames"]
    for c in classes:  # repeated frames counted: what training iterates over
        row[f"train images {c}"] = train[c].get("effective_frames", train[c]["frames"])
    for c in classes:
        row[f"frames vs largest class {c}"] = ratio[c]
    test = summary.get("test")
    if test:
        row[Comparison.TEST_IMAGES] = test.get("images")
        row["test mAP50:95"] = test["mAP_50_95"]
        row["test mAP50"] = test["mAP_50"]
        for c in classes:
            row[Comparison.test_ap(c)] = test["per_class"][c]["AP_50_95"]
        for c in classes:
            row[f"test AP50 {c}"] = test["per_class"][c]["AP_50"]
        row["test F1"] = test["f1"]
        row["test F1 threshold"] = test["best_f1_threshold"]
    row["val mAP50:95"] = val["mAP_50_95"]
    row["val mAP50"] = val["mAP_50"]
    for c in classes:
        row[f"val AP50:95 {c}"] = val["per_class_AP_50_95"].get(c)
    row["best epoch"] = summary["training"].get("best_epoch")
    row["epochs run"] = summary["training"].get("epochs_run")
    row["train time s"] = summary["training"].get("wall_time_s")
    row[Comparison.IMAGES_SEEN] = summary["training"].get("training_images_seen")
    adjusted = summary.get("test_logit_adjusted")
    if adjusted:
        row["logit adjustment tau"] = adjusted["logit_adjustment"]["tau"]
        row["adjusted F1"] = adjusted["f1"]
        row["adjusted F1 threshold"] = adjusted["best_f1_threshold"]
        for c in classes:
            row[f"test F1 {c}"] = test["per_class"][c]["f1"]
            row[f"adjusted F1 {c}"] = adjusted["per_class"][c]["f1"]
    loss_weights = summary["training"].get("class_loss_weights") or {}
    for c in classes:
        row[f"loss weight {c}"] = loss_weights.get(c, 1.0)
    for video, vs in summary["videos"].items():
        for c in classes:
            row[f"{video}: {c} detections"] = vs["detections"].get(c)
    row[Comparison.NOTES] = "; ".join(sampling_notes(summary["dataset"]))
    return row


def sampling_notes(dataset: dict[str, Any]) -> list[str]:
    """What a reader of the comparison must know about a run's training frames: classes that kept
    clearly more than requested (union), and frames lost to exact sampling."""
    per_class = dataset.get("per_class_sampling", {})
    notes = []
    for c in dataset.get("over_kept_classes", []):
        s = per_class[c]
        notes.append(
            f"{c}: kept {s['kept_share']:.0%} of its frames, {s['requested_share']:.0%} requested "
            f"(entered through {', '.join(s['entered_through'])})"
        )
    for c, s in per_class.items():
        if s.get("dropped_by_exact"):
            notes.append(f"{c}: {s['dropped_by_exact']} frame(s) dropped by exact sampling")
    return notes


def same_training(summaries: list[dict[str, Any]]) -> list[list[str]]:
    """For each summary, the other runs that trained on identical inputs (the same training digest:
    settings, seed, training and validation data): they share one training."""
    digests = [s["training"].get("training_digest") for s in summaries]
    ids = [run_info(s)["id"] for s in summaries]
    return [[i for i, d in zip(ids, digests) if d == digest and i != own] if digest else [] for own, digest in zip(ids, digests)]


def comparison_table(summaries: list[dict[str, Any]]):
    """A DataFrame with one row per run, ordered by the sampled fractions then name."""
    import pandas as pd

    rows = [comparison_row(s) for s in summaries]
    for row, same in zip(rows, same_training(summaries)):
        if same:
            note = f"same training data as {', '.join(same)}"
            row[Comparison.NOTES] = f"{note}; {row[Comparison.NOTES]}" if row[Comparison.NOTES] else note
    df = pd.DataFrame(rows)
    fraction_cols = [c for c in df.columns if c.startswith("fraction ")]
    swept = sorted({k for s in summaries for k in run_info(s)["swept"]})
    return df.sort_values(fraction_cols + [Comparison.EXPERIMENT, *swept, "replicate"], kind="stable").reset_index(drop=True)


METRIC_PREFIXES = ("test ", "val ")


def replicate_statistics(table: Any) -> Any:
    """Per experiment and sweep point over its replicates: n, and mean, sample standard deviation and
    95% confidence interval (Student's t) of every test and validation metric."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    swept = [c for c in table.columns if "." in c]
    keys = [Comparison.EXPERIMENT, *swept, *[c for c in table.columns if c.startswith("fraction ")]]
    metrics = [c for c in table.columns if c.startswith(METRIC_PREFIXES) and c != "test F1 threshold"]
    rows = []
    for group, frame in table.groupby(keys, sort=False, dropna=False):
        row = dict(zip(keys, group if isinstance(group, tuple) else (group,)))
        row["replicates"] = len(frame)
        for metric in metrics:
            values = pd.to_numeric(frame[metric], errors="coerce").dropna().to_numpy(float)
            n = len(values)
            mean = values.mean() if n else np.nan
            std = values.std(ddof=1) if n > 1 else np.nan
            half = stats.t.ppf(0.975, n - 1) * std / np.sqrt(n) if n > 1 else np.nan
            row[f"{metric} mean"] = mean
            row[f"{metric} std"] = std
            row[f"{metric} ci95 low"] = mean - half
            row[f"{metric} ci95 high"] = mean + half
        rows.append(row)
    return pd.DataFrame(rows)


# The compact view's column headers, each defined once (docs/outputs.md and the report caption say the same).
COMPACT_LEGEND = """\
<class> asked / kept: the share of the class's training frames the experiment asked for / the share the
  training set holds (more when frames drawn for other classes hold it too).
AP <class>: test AP50:95, and (its difference to the run it is compared with [95% interval]): the run
  marked (reference), or the run the cell names (vs <run>: a remedy's baseline); the interval covers
  which test images were drawn, not training noise (one training per run; with replicates,
  comparison_stats.csv has intervals over replicates and test images). identical: the same training.
  both 0: this run and its reference score AP 0 on the class - neither detects it, no difference can be read.
images seen: training images seen (steps x batch), the compute a run got; for a remedy, (+25% vs <baseline>):
  more than 10% above or below its baseline's, so the comparison is not at equal compute.
Every column: comparison.csv, comparison.html, or collect_results.py --all."""


def _ap_cell(ap: Any, comparison: dict[str, Any] | None, marked: set[str]) -> str:
    """A run's AP with its difference to the run it is compared with and the interval, as the compact
    view shows it; that run is named unless it is one the view marks (reference)."""
    text = ap_text(ap)
    if comparison is None:
        return text
    versus = "" if comparison[Stats.REFERENCE] in marked else comparison[Stats.REFERENCE]
    named = f" vs {versus}" if versus else ""
    if isinstance(comparison.get(Stats.NOTE), str) and comparison[Stats.NOTE]:
        return f"{text} (identical{named})"
    d = comparison[Stats.DIFFERENCE]
    if d is None or d != d:
        return text
    if neither_detects(comparison):
        return f"{text} (both 0{named}: no signal)"
    return f"{text} ({interval(d, comparison[Stats.LOW], comparison[Stats.HIGH], versus)})"


def _images_seen_cell(run: str, seen: Any, comparisons: dict[tuple[str, str], dict[str, Any]], remedied: bool) -> Any:
    """A run's training images seen; a remedy's with its gap to its baseline's where that is not equal
    compute (fewer images at fewer data is what a fraction experiment asks about, not a caveat)."""
    comparison = next((c for (r, _), c in comparisons.items() if r == run), None) if remedied else None
    gap = comparison and compute_gap(comparison.get(Stats.IMAGES_SEEN), comparison.get(Stats.REFERENCE_IMAGES_SEEN))
    if seen is None or seen != seen:
        return None
    # a whole number as text: a float column would print 1.23457e+06 in Markdown
    return f"{seen:.0f} ({gap:+.0%} vs {comparison[Stats.REFERENCE]})" if gap else f"{seen:.0f}"


def compact_view(table: Any, stats: Any = None) -> Any:
    """The columns that answer the question, narrow enough to read: run, the varied classes' asked and
    kept shares, test AP50:95 per class with each run's difference to its reference and its interval
    (from the paired bootstrap's `stats`, where there is one), images seen, and status."""
    import pandas as pd

    classes = [c.removeprefix("fraction ") for c in table.columns if c.startswith("fraction ")]
    varied = [c for c in classes if table[f"fraction {c}"].nunique(dropna=True) > 1] or classes[:1]
    comparisons: dict[tuple[str, str], dict[str, Any]] = {}
    references: set[str] = set()
    if stats is not None and not stats.empty:
        per_run = stats[(stats[Stats.REPLICATES] == 1) & (stats[Stats.METRIC] == "AP_50_95")]
        comparisons = {(r[Stats.RUN], r[Stats.CLASS]): r.to_dict() for _, r in per_run.iterrows()}
        references = set(per_run[Stats.REFERENCE]) - set(per_run[Stats.RUN])
    view = pd.DataFrame({"run": table[Comparison.RUN]})
    for c in varied:
        kept = table[f"kept share {c}"] if f"kept share {c}" in table else [None] * len(table)
        view[f"{c} asked / kept"] = [f"{percent(asked)} / {percent(k)}" for asked, k in zip(table[f"fraction {c}"], kept)]
    for c in classes:
        if Comparison.test_ap(c) in table:
            view[f"AP {c}"] = [
                _ap_cell(ap, comparisons.get((run, c)), references) + (" (reference)" if run in references else "")
                for run, ap in zip(table[Comparison.RUN], table[Comparison.test_ap(c)])
            ]
    if Comparison.IMAGES_SEEN in table:
        remedies = table[Comparison.REMEDY] if Comparison.REMEDY in table else ["none"] * len(table)
        view["images seen"] = [
            _images_seen_cell(run, seen, comparisons, remedy != "none")
            for run, seen, remedy in zip(table[Comparison.RUN], table[Comparison.IMAGES_SEEN], remedies)
        ]
    if Comparison.STATUS in table:
        view["status"] = table[Comparison.STATUS]
    return view


def compact_markdown(table: Any, stats: Any = None) -> str:
    """The compact view as a Markdown table, with its legend."""
    return compact_view(table, stats).to_markdown(index=False, missingval="-") + "\n\n" + COMPACT_LEGEND + "\n"


def write_comparison(
    summary_paths: list[str | Path],
    out_csv: str | Path,
    out_md: str | Path,
    out_html: str | Path,
    out_replicates_csv: str | Path,
    stats_csv: str | Path | None = None,
) -> Any:
    """Write the comparison as CSV and as an HTML page (every column), as a Markdown table (the compact
    view, with the paired bootstrap's differences from `stats_csv`), and the statistics over
    replicates as CSV."""
    import pandas as pd

    df = comparison_table([_read_json(p) for p in summary_paths])
    replicate_statistics(df).to_csv(out_replicates_csv, index=False)
    df.to_csv(out_csv, index=False)
    stats = pd.read_csv(stats_csv) if stats_csv else None
    Path(out_md).write_text(compact_markdown(df, stats))
    Path(out_html).write_text(html_page(df, "Comparison of runs"))
    return df
