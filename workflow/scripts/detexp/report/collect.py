"""Reading a results folder, finished or not: the comparison from whatever summaries exist, with
every other run of the study marked by how far it got."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .. import layout
from .columns import Comparison
from ..study.config import validate_config
from ..study.experiments import load_experiments
from ..study.runs import Run, expand_runs
from .summary import COMPACT_LEGEND, compact_markdown, compact_view, comparison_table

# Stages in workflow order: the last file that exists says how far an experiment got.
STAGES = (
    (layout.RESOLVED_CONFIG, "configured"),
    (layout.DATASET_STATS, "dataset prepared"),
    (layout.TRAINING_STATE_METRICS, "training"),
    (layout.TRAINING_SUMMARY, "trained"),
    (layout.EVAL_METRICS, "evaluated"),
    (layout.SUMMARY, "complete"),
)


def run_status(run_dir: Path) -> str:
    """How far one run got: 'not started', 'configured', ..., 'complete'."""
    status = "not started"
    for relative, name in STAGES:
        if (run_dir / relative).exists():
            status = name
    if status == "training":
        epochs = _epochs_logged(run_dir / layout.TRAINING_STATE_METRICS)
        status = f"training ({epochs} epoch(s) logged)"
    return status


def _epochs_logged(metrics_csv: Path) -> int:
    import csv

    with open(metrics_csv) as f:
        return len({row["epoch"] for row in csv.DictReader(f) if row.get("epoch")})


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Nested mappings merged as Snakemake merges config files (later files win, key by key)."""
    for key, value in update.items():
        base[key] = _merge(dict(base[key]), value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return base


def study_runs(configfiles: list[Path], workflow_config: Path = Path(layout.WORKFLOW_CONFIG)) -> dict[str, Run]:
    """The runs a study plans, from the config files a workflow run was given (after the workflow's
    own config/config.yaml, as Snakemake reads them): sweeps and replicates included."""
    merged: dict[str, Any] = {}
    for path in [workflow_config] * workflow_config.is_file() + list(configfiles):
        _merge(merged, yaml.safe_load(Path(path).read_text()) or {})
    config = validate_config(merged)
    return expand_runs(config, load_experiments(config))


def _unfinished_row(run_dir: Path, run_id: str, planned: Run | None, classes: list[str]) -> dict[str, Any]:
    """What is known of a run without a summary: its status, experiment and sampled fractions (from
    its resolved config, else from the study's plan)."""
    row: dict[str, Any] = {Comparison.RUN: run_id, Comparison.STATUS: run_status(run_dir), Comparison.EXPERIMENT: run_id}
    resolved = run_dir / layout.RESOLVED_CONFIG
    fractions: dict[str, float] = {}
    if resolved.is_file():
        experiment = yaml.safe_load(resolved.read_text()).get("experiment", {})
        row[Comparison.EXPERIMENT] = experiment.get("name", run_id)
        fractions = experiment.get("frame_sample_fractions", {})
    elif planned is not None:
        row[Comparison.EXPERIMENT] = planned.experiment.name
        fractions = planned.experiment.fractions_for(classes)
    row.update({f"fraction {cls}": value for cls, value in fractions.items()})
    return row


def collect(results_dir: str | Path, planned: dict[str, Run] | None = None, classes: list[str] | None = None):
    """The comparison table of every run found in `results_dir`, and of the study's `planned` runs
    (study_runs); unfinished runs get a row with their status and their fractions, other values empty.
    Without `planned`, only the runs in `results_dir`: never another study's experiments."""
    import pandas as pd

    results_dir = Path(results_dir)
    # run folders: not the plots, not hidden ones (the content cache)
    found = (
        sorted(p.name for p in results_dir.iterdir() if p.is_dir() and p.name != "plots" and not p.name.startswith("."))
        if results_dir.is_dir()
        else []
    )
    planned = planned or {}
    names = sorted(set(found) | set(planned))
    summaries, unfinished = [], []
    for name in names:
        path = layout.run_file(results_dir, name, layout.SUMMARY)
        if path.is_file():
            summaries.append(json.loads(path.read_text()))
        else:
            unfinished.append(_unfinished_row(results_dir / name, name, planned.get(name), classes or []))
    table = comparison_table(summaries) if summaries else pd.DataFrame()
    if not table.empty:
        table.insert(1, Comparison.STATUS, "complete")
    if unfinished:
        table = pd.concat([table, pd.DataFrame(unfinished)], ignore_index=True)
        fraction_cols = [c for c in table.columns if c.startswith("fraction ")]
        # An experiment file that leaves a class out keeps all of its frames (fraction 1.0); a run
        # whose fractions are not known at all (no resolved config, not in the plan) stays empty.
        known = table[fraction_cols].notna().any(axis=1)
        table.loc[known, fraction_cols] = table.loc[known, fraction_cols].fillna(1.0)
        table = table.sort_values(
            fraction_cols + [Comparison.EXPERIMENT, Comparison.RUN], kind="stable", na_position="last"
        ).reset_index(drop=True)
    return table


def paired_statistics(results_dir: str | Path):
    """The study's paired bootstrap table (comparison_stats.csv in `results_dir`), or None before it exists."""
    import pandas as pd

    path = Path(results_dir) / Path(layout.COMPARISON_STATS).name
    return pd.read_csv(path) if path.is_file() else None


def shown(value: float) -> str:
    """A number as the text views show it: from 1,000 up whole, without an exponent (images seen,
    seconds, frames); below, 4 significant digits; '-' for none."""
    if value != value:
        return "-"
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def render(table, fmt: str, stats=None, every_column: bool = False) -> str:
    """The table as `table` (aligned text), `markdown`, `csv` or `json` (a list of rows). Text and
    Markdown show the compact view with its legend unless `every_column`; CSV and JSON every column."""
    if table.empty:
        return {"json": "[]\n"}.get(fmt, "no runs found\n")
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=1) + "\n"
    if fmt not in ("markdown", "table"):
        raise ValueError(f"unknown format {fmt!r} - one of table, markdown, csv, json")
    if not every_column:
        if fmt == "markdown":
            return compact_markdown(table, stats)
        view = compact_view(table, stats)
        return view.to_string(index=False, na_rep="-", float_format=shown) + "\n\n" + COMPACT_LEGEND + "\n"
    if fmt == "markdown":
        floats = table.select_dtypes("float").columns
        return (
            table.astype({c: object for c in floats})
            .assign(**{c: table[c].map(shown) for c in floats})
            .to_markdown(index=False, missingval="-")
            + "\n"
        )
    return table.to_string(index=False, na_rep="-", float_format=shown) + "\n"
