"""Collect one run's config, dataset, training, test metrics, video results and job costs into one
JSON (schema: workflow/schemas/experiment_summary.schema.yaml), and plot its training curves - the
summarize rule (collect_results.py reads finished and unfinished runs from the command line)."""

import json
from pathlib import Path

from detexp.cli import snakemake_only
from detexp.report.plots import plot_training_curves
from detexp.report.summary import build_summary
from detexp.train.metrics import read_metrics


def run(smk):
    summary = build_summary(
        config_path=smk.input.config,
        dataset_stats_path=smk.input.dataset_stats,
        training_summary_path=smk.input.training_summary,
        metrics_csv=smk.input.metrics,
        evaluation_path=smk.input.evaluation,
        adjusted_path=next(iter(smk.input.adjusted), None),
        detection_paths=list(smk.input.detections),
        benchmark_paths=dict(smk.params.benchmarks),
    )
    Path(smk.output.summary).write_text(json.dumps(summary, indent=1) + "\n")
    plot_training_curves({summary["run"]["id"]: read_metrics(Path(smk.input.metrics))}, Path(smk.output.curves))


snakemake_only(globals(), run)
