"""Evaluate a trained checkpoint on the fixed test split: COCO mAP, P/R/F1 at the best threshold,
confusion matrix, and the raw predictions in COCO results format."""

import argparse
from pathlib import Path

from detexp.cli import entry, log
from detexp.test.evaluation import run_evaluation, run_evaluation_or_reuse
from detexp.schemas import schema_default

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("checkpoint", type=Path)
parser.add_argument("annotations", type=Path, help="the test split's _annotations.coco.json (images beside it)")
parser.add_argument("metrics", type=Path, help="metrics JSON to write")
parser.add_argument("predictions", type=Path, help="predictions to write, COCO results format")
parser.add_argument("confusion_matrix", type=Path, help="confusion matrix PNG to write")
parser.add_argument("--batch-size", type=int, default=schema_default("inference.batch_size"))
parser.add_argument(
    "--iou-threshold",
    type=float,
    default=schema_default("evaluation.iou_threshold"),
    help="IoU of a match for precision, recall, F1",
)
parser.add_argument(
    "--reuse", action="store_true", help="link the outputs of an earlier evaluation of identical inputs (as the workflow does)"
)


def from_snakemake(smk):
    return argparse.Namespace(
        checkpoint=Path(smk.input.checkpoint),
        annotations=Path(smk.input.annotations),
        metrics=Path(smk.output.metrics),
        predictions=Path(smk.output.predictions),
        confusion_matrix=Path(smk.output.confusion_matrix),
        batch_size=smk.params.batch_size,
        iou_threshold=smk.params.iou_threshold,
        reuse=True,
    )


def run(args):
    for path in (args.metrics, args.predictions, args.confusion_matrix):
        path.parent.mkdir(parents=True, exist_ok=True)
    if args.reuse:
        outputs = {"metrics": args.metrics, "predictions": args.predictions, "confusion_matrix": args.confusion_matrix}
        run_evaluation_or_reuse(args.checkpoint, args.annotations, outputs, args.batch_size, log, args.iou_threshold)
        return
    run_evaluation(
        args.checkpoint,
        args.annotations,
        args.metrics,
        args.predictions,
        args.confusion_matrix,
        args.batch_size,
        log=log,
        iou_threshold=args.iou_threshold,
    )


entry(globals(), parser, from_snakemake, run)
