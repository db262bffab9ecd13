"""Sample one experiment's training frames and write its RF-DETR dataset and statistics."""

import argparse
import json
from pathlib import Path

from detexp.cli import add_project_arguments, entry, json_setting, log, project_arguments
from detexp.data.dataset import prepare_dataset
from detexp.data.formats import read_project_of
from detexp.layout import RESULTS_DIR
from detexp.data.sampling import FRAME_SAMPLING_MODES, sampling_warnings
from detexp.schemas import schema_default

parser = argparse.ArgumentParser(description=__doc__)
add_project_arguments(parser)
parser.add_argument("splits", type=Path, help="splits JSON from split_dataset.py")
parser.add_argument("out_dir", type=Path, help="dataset folder to write (train/ valid/ test/)")
parser.add_argument("stats", type=Path, help="dataset statistics JSON to write")
parser.add_argument(
    "--fraction",
    nargs=2,
    action="append",
    metavar=("CLASS", "F"),
    default=[],
    help="fraction of CLASS's training frames to keep (default 1)",
)
parser.add_argument(
    "--background-fraction",
    type=float,
    default=schema_default("background_fraction", "experiment.schema.yaml"),
    help="fraction of training frames with none of the classes to keep",
)
parser.add_argument(
    "--frame-sampling",
    choices=FRAME_SAMPLING_MODES,
    default=schema_default("frame_sampling"),
    help="union: keep every frame drawn for any class; exact: keep a frame only if drawn for each reduced class it holds",
)
parser.add_argument(
    "--oversample",
    nargs=2,
    action="append",
    metavar=("CLASS", "F"),
    default=[],
    help="repeat the kept frames of CLASS F times (F >= 1; fractional parts by the draw's ranking)",
)
parser.add_argument(
    "--repeat-factor",
    type=json_setting("repeat_factor", "experiment.schema.yaml"),
    default=None,
    help='repeat-factor sampling as JSON, e.g. \'{"threshold": 0.3, "mode": "sqrt", "max_repeats": 8}\'',
)


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        **project_arguments(p),
        results=Path(RESULTS_DIR),  # the study's, in the working folder: its cache of image checks
        splits=Path(smk.input.splits),
        out_dir=Path(p.out_dir),
        stats=Path(smk.output.stats),
        fraction=list(p.fractions.items()),
        frame_sampling=p.frame_sampling,
        clip_regex=p.clip_regex,
        background_fraction=p.background_fraction,
        oversample=list(p.remedies["oversample"].items()),
        repeat_factor=p.remedies["repeat_factor"],
    )


def run(args):
    project = read_project_of(args, log)
    splits = json.loads(args.splits.read_text())
    fractions = {c: 1.0 for c in args.classes} | {c: float(f) for c, f in args.fraction}
    oversample = {c: float(f) for c, f in args.oversample}
    stats = prepare_dataset(
        project,
        splits,
        fractions,
        args.seed,
        args.out_dir,
        args.background_fraction,
        oversample,
        args.repeat_factor,
        args.frame_sampling,
    )
    args.stats.write_text(json.dumps(stats, indent=1) + "\n")
    train = stats["splits"]["train"]
    log(f"train frames per class: { {c: v['frames'] for c, v in train['classes'].items()} }")
    for cls, s in stats["per_class_sampling"].items():
        log(
            f"{cls}: requested {s['requested_fraction']:g} of {s['frames_available']} frames ({s['frames_drawn']} drawn), "
            f"kept {s['frames_kept']} = {s['kept_share']:.1%} ({stats['frame_sampling']})"
        )
    for line in sampling_warnings(stats):
        log(line)
    log(
        f"sampling: {stats['sampling_method']}; {train['effective_frames']} training images from {train['frames']} "
        f"frames, copies per frame: {train['copies_per_frame']}"
    )
    log(f"images linked by: {', '.join(stats['image_link_method'])}")
    log(f"boxes clipped to their image: {stats['clipped_boxes']}")
    log(f"annotations of categories outside classes, dropped: {stats['dropped_annotations_by_category'] or 'none'}")


entry(globals(), parser, from_snakemake, run)
