"""Reading a results folder, finished or not: the comparison from whatever summaries exist, with
every other experiment marked by how far it got."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from . import layout
from .runs import RUN_ID_SEPARATOR
from .summary import comparison_table

# Stages in workflow order: the last file that exists says how far an experiment got.
STAGES = (
    (layout.RESOLVED_CONFIG, "configured"),
    (layout.DATASET_STATS, "dataset prepared"),
    (layout.TRAINING_STATE_METRICS, "training"),
    (layout.TRAINING_SUMMARY, "trained"),
    (layout.EVAL_METRICS, "evaluated"),
    (layout.SUMMARY, "complete"),
)


def experiment_status(experiment_dir: Path) -> str:
    """How far one experiment got: 'not started', 'configured', ..., 'complete'."""
    status = "not started"
    for relative, name in STAGES:
        if (experiment_dir / relative).exists():
            status = name
    if status == "training":
        epochs = _epochs_logged(experiment_dir / layout.TRAINING_STATE_METRICS)
        status = f"training ({epochs} epoch(s) logged)"
    return status


def _epochs_logged(metrics_csv: Path) -> int:
    import csv

    with open(metrics_csv) as f:
        return len({row["epoch"] for row in csv.DictReader(f) if row.get("epoch")})


def expected_experiments(experiments_dir: Path | None) -> list[str]:
    """Experiment names from the experiment files, if that folder exists."""
    if experiments_dir is None or not experiments_dir.is_dir():
        return []
    return sorted(p.stem for p in experiments_dir.glob("*.yaml"))


def _unfinished_row(experiment_dir: Path, experiments_dir: Path | None, run_id: str) -> dict[str, Any]:
    """What is known of a run without a summary: its status, experiment and sampled fractions (from
    its resolved config, else from the experiment file of that name)."""
    row: dict[str, Any] = {"run": run_id, "status": experiment_status(experiment_dir), "experiment": run_id}
    resolved = experiment_dir / layout.RESOLVED_CONFIG
    source = experiments_dir / f"{run_id}.yaml" if experiments_dir else None
    if resolved.is_file():
        experiment = yaml.safe_load(resolved.read_text()).get("experiment", {})
        row["experiment"] = experiment.get("name", run_id)
        fractions = experiment.get("frame_sample_fractions", {})
    elif source is not None and source.is_file():
        fractions = yaml.safe_load(source.read_text()).get("frame_sample_fractions", {})
    else:
        fractions = {}
    row.update({f"fraction {cls}": value for cls, value in fractions.items()})
    return row


def collect(results_dir: str | Path, experiments_dir: str | Path | None = None):
    """The comparison table of every experiment found in `results_dir` or named by `experiments_dir`;
    unfinished experiments get a row with their status and their fractions, other values empty."""
    import pandas as pd

    results_dir = Path(results_dir)
    experiments_dir = Path(experiments_dir) if experiments_dir else None
    found = sorted(p.name for p in results_dir.iterdir() if p.is_dir() and p.name != "plots") if results_dir.is_dir() else []
    # An experiment file counts as not started only if no run folder belongs to it (runs of a sweep
    # or replicates are named <experiment>__...).
    waiting = [
        e for e in expected_experiments(experiments_dir) if not any(f == e or f.startswith(e + RUN_ID_SEPARATOR) for f in found)
    ]
    names = sorted(set(found) | set(waiting))
    summaries, unfinished = [], []
    for name in names:
        path = layout.run_file(results_dir, name, layout.SUMMARY)
        if path.is_file():
            summaries.append(json.loads(path.read_text()))
        else:
            unfinished.append(_unfinished_row(results_dir / name, experiments_dir, name))
    table = comparison_table(summaries) if summaries else pd.DataFrame()
    if not table.empty:
        table.insert(1, "status", "complete")
    if unfinished:
        table = pd.concat([table, pd.DataFrame(unfinished)], ignore_index=True)
        fraction_cols = [c for c in table.columns if c.startswith("fraction ")]
        # An experiment file that leaves a class out keeps all of its frames (fraction 1.0).
        table[fraction_cols] = table[fraction_cols].fillna(1.0)
        table = table.sort_values(fraction_cols + ["experiment", "run"], kind="stable", na_position="last").reset_index(drop=True)
    return table


def render(table, fmt: str) -> str:
    """The table as `table` (aligned text), `markdown`, `csv` or `json` (a list of rows)."""
    if table.empty:
        return {"json": "[]\n"}.get(fmt, "no experiments found\n")
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=1) + "\n"
    if fmt == "markdown":
        return table.to_markdown(index=False, floatfmt=".4g") + "\n"
    if fmt == "table":
        return table.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}") + "\n"
    raise ValueError(f"unknown format {fmt!r} - one of table, markdown, csv, json")
