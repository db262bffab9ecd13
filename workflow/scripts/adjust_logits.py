"""Score a run's test predictions again after post-hoc logit adjustment (the adjust_logits rule):
metrics beside the unadjusted ones of the same checkpoint, no model and no GPU."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry, log
from detexp.test.logit_adjustment import evaluate_adjusted
from detexp.schemas import schema_default

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("predictions", type=Path, help="the run's test predictions (results/<run>/evaluation/predictions.json)")
parser.add_argument("annotations", type=Path, help="the test split's _annotations.coco.json")
parser.add_argument("dataset_stats", type=Path, help="the run's dataset_stats.json (the training priors)")
parser.add_argument("metrics", type=Path, help="metrics JSON to write")
parser.add_argument("--tau", type=float, required=True, help="scores become sigmoid(logit(s) - tau log prior_c)")
parser.add_argument("--iou-threshold", type=float, default=schema_default("evaluation.iou_threshold"))


def from_snakemake(smk):
    return argparse.Namespace(
        predictions=Path(smk.input.predictions),
        annotations=Path(smk.input.annotations),
        dataset_stats=Path(smk.input.dataset_stats),
        metrics=Path(smk.output.metrics),
        tau=smk.params.tau,
        iou_threshold=smk.params.iou_threshold,
    )


def run(args):
    adjusted = evaluate_adjusted(
        json.loads(args.annotations.read_text()),
        json.loads(args.predictions.read_text()),
        json.loads(args.dataset_stats.read_text()),
        args.tau,
        args.iou_threshold,
    )
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    args.metrics.write_text(json.dumps(adjusted, indent=2) + "\n")
    log(f"logit adjustment, tau {args.tau}: best F1 {adjusted['f1']:.3f} at confidence {adjusted['best_f1_threshold']}")


entry(globals(), parser, from_snakemake, run)
