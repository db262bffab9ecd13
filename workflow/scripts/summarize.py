"""Collect one experiment's config, dataset, training, metrics and video results into one JSON."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry
from detexp.summary import build_summary

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("experiment_dir", type=Path, help="results/<experiment>")
parser.add_argument("output", type=Path)


def from_snakemake(smk):
    return argparse.Namespace(
        inputs=dict(
            config_path=smk.input.config,
            dataset_stats_path=smk.input.dataset_stats,
            training_summary_path=smk.input.training_summary,
            metrics_csv=smk.input.metrics,
            evaluation_path=smk.input.evaluation,
            detection_paths=list(smk.input.detections),
        ),
        output=Path(smk.output[0]),
    )


def run(args):
    if getattr(args, "inputs", None) is None:
        d = args.experiment_dir
        args.inputs = dict(
            config_path=d / "config.yaml",
            dataset_stats_path=d / "dataset_stats.json",
            training_summary_path=d / "training" / "training_summary.json",
            metrics_csv=d / "training" / "metrics.csv",
            evaluation_path=d / "evaluation" / "metrics.json",
            detection_paths=sorted((d / "inference").glob("*_detections.json")),
        )
    summary = build_summary(**args.inputs)
    args.output.write_text(json.dumps(summary, indent=1) + "\n")


entry(globals(), parser, from_snakemake, run)
