"""Run a trained checkpoint over a video: annotated H.264 video and detection JSON."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry, log
from detexp.test.inference import PRECISIONS, InferenceSettings, run_inference, run_inference_or_reuse
from detexp.test.logit_adjustment import LogitAdjustment
from detexp.schemas import schema_default

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("checkpoint", type=Path)
parser.add_argument("video", type=Path)
parser.add_argument("out_video", type=Path)
parser.add_argument("out_json", type=Path)
parser.add_argument("--threshold", type=float, default=schema_default("inference.threshold"))
parser.add_argument("--batch-size", type=int, default=schema_default("inference.batch_size"))
parser.add_argument(
    "--frame-stride",
    type=int,
    default=schema_default("inference.frame_stride"),
    help="detect on every Nth frame (the video keeps all)",
)
parser.add_argument("--max-frames", type=int, default=schema_default("inference.max_frames"), help="stop after this many frames")
parser.add_argument(
    "--precision",
    choices=PRECISIONS,
    default=schema_default("inference.precision"),
    help="auto: float16 on a GPU, plain float32 on a CPU",
)
parser.add_argument(
    "--logit-adjustment",
    nargs=2,
    metavar=("TAU", "DATASET_STATS"),
    help="adjust the scores before the threshold by tau and the training priors of the run's dataset_stats.json",
)
parser.add_argument(
    "--reuse", action="store_true", help="link the outputs of an earlier inference of identical inputs (as the workflow does)"
)


def from_snakemake(smk):
    return argparse.Namespace(
        checkpoint=Path(smk.input.checkpoint),
        video=Path(smk.input.video),
        out_video=Path(smk.output.video),
        out_json=Path(smk.output.detections),
        threshold=smk.params.threshold,
        batch_size=smk.params.batch_size,
        frame_stride=smk.params.frame_stride,
        max_frames=smk.params.max_frames,
        precision=smk.params.precision,
        logit_adjustment=None
        if smk.params.logit_adjustment_tau is None
        else (smk.params.logit_adjustment_tau, smk.input.dataset_stats[0]),
        reuse=True,
    )


def run(args):
    settings = InferenceSettings(args.threshold, args.batch_size, args.frame_stride, args.max_frames, args.precision)
    adjustment = None
    if args.logit_adjustment is not None:
        tau, stats = args.logit_adjustment
        adjustment = LogitAdjustment.of_run(float(tau), json.loads(Path(stats).read_text()))
    infer = run_inference_or_reuse if args.reuse else run_inference
    infer(args.video, args.checkpoint, args.out_video, args.out_json, settings, log=log, adjustment=adjustment)


entry(globals(), parser, from_snakemake, run)
