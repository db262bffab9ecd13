"""Collect one experiment's config, dataset, training, test metrics, video results and job costs
into one JSON (schema: workflow/schemas/experiment_summary.schema.yaml), and plot its training curves."""

import argparse
import json
from pathlib import Path

from detexp import layout
from detexp.cli import entry
from detexp.plots import plot_training_curves
from detexp.summary import build_summary
from detexp.training import read_metrics

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("experiment_dir", type=Path, help="results/<experiment>; writes its experiment_summary.json")


def from_snakemake(smk):
    return argparse.Namespace(
        inputs=dict(
            config_path=smk.input.config,
            dataset_stats_path=smk.input.dataset_stats,
            training_summary_path=smk.input.training_summary,
            metrics_csv=smk.input.metrics,
            evaluation_path=smk.input.evaluation,
            detection_paths=list(smk.input.detections),
            benchmark_paths=dict(smk.params.benchmarks),
        ),
        output=Path(smk.output.summary),
        curves=Path(smk.output.curves),
    )


def run(args):
    if getattr(args, "inputs", None) is None:
        d = args.experiment_dir
        args.inputs = dict(
            config_path=d / layout.RESOLVED_CONFIG,
            dataset_stats_path=d / layout.DATASET_STATS,
            training_summary_path=d / layout.TRAINING_SUMMARY,
            metrics_csv=d / layout.TRAINING_METRICS,
            evaluation_path=d / layout.EVAL_METRICS,
            detection_paths=sorted((d / Path(layout.DETECTIONS).parent).glob("*" + layout.DETECTIONS_SUFFIX)),
        )
        args.output, args.curves = d / layout.SUMMARY, d / layout.TRAINING_CURVES
    summary = build_summary(**args.inputs)
    args.output.write_text(json.dumps(summary, indent=1) + "\n")
    plot_training_curves({summary["run"]["id"]: read_metrics(Path(args.inputs["metrics_csv"]))}, args.curves)


entry(globals(), parser, from_snakemake, run)
