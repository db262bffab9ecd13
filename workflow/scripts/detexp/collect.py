"""Reading a results folder, finished or not: the comparison from whatever summaries exist, with
every other experiment marked by how far it got."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from . import layout
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


def _experiment_name(experiment_dir: Path, run_id: str) -> str:
    """The experiment a run belongs to, from its resolved config (else the folder name)."""
    resolved = experiment_dir / layout.RESOLVED_CONFIG
    if resolved.is_file():
        return yaml.safe_load(resolved.read_text()).get("experiment", {}).get("name", run_id)
    return run_id


def _fractions(experiment_dir: Path, experiments_dir: Path | None, name: str) -> dict[str, float]:
    """The sampled fractions of an unfinished experiment, from its resolved config or its file."""
    resolved = experiment_dir / layout.RESOLVED_CONFIG
    if resolved.is_file():
        return yaml.safe_load(resolved.read_text())["experiment"]["frame_sample_fractions"]
    source = experiments_dir / f"{name}.yaml" if experiments_dir else None
    if source is not None and source.is_file():
        return dict(yaml.safe_load(source.read_text()).get("frame_sample_fractions", {}))
    return {}


def collect(results_dir: str | Path, experiments_dir: str | Path | None = None):
    """The comparison table of every experiment found in `results_dir` or named by `experiments_dir`;
    unfinished experiments get a row with their status and their fractions, other values empty."""
    import pandas as pd

    results_dir = Path(results_dir)
    experiments_dir = Path(experiments_dir) if experiments_dir else None
    found = sorted(p.name for p in results_dir.iterdir() if p.is_dir() and p.name != "plots") if results_dir.is_dir() else []
    # An experiment file counts as not started only if no run folder belongs to it (runs of a sweep
    # or replicates are named <experiment>__...).
    waiting = [e for e in expected_experiments(experiments_dir) if not any(f == e or f.startswith(e + "__") for f in found)]
    names = sorted(set(found) | set(waiting))
    summaries, unfinished = [], []
    for name in names:
        path = layout.experiment_file(results_dir, name, layout.SUMMARY)
        if path.is_file():
            summaries.append(json.loads(path.read_text()))
        else:
            status = experiment_status(results_dir / name)
            row: dict[str, Any] = {"run": name, "status": status, "experiment": _experiment_name(results_dir / name, name)}
            for cls, value in _fractions(results_dir / name, experiments_dir, name).items():
                row[f"fraction {cls}"] = value
            unfinished.append(row)
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
