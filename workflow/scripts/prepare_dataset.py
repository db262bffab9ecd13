"""Sample one experiment's training frames and write its RF-DETR dataset and statistics."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry, log
from detexp.dataset import prepare_dataset, read_coco_project

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("annotations", type=Path, help="the project's COCO annotation file")
parser.add_argument("splits", type=Path, help="splits JSON from split_dataset.py")
parser.add_argument("out_dir", type=Path, help="dataset folder to write (train/ valid/ test/)")
parser.add_argument("stats", type=Path, help="dataset statistics JSON to write")
parser.add_argument("--fraction", nargs=2, action="append", metavar=("CLASS", "F"), default=[],
                    help="fraction of CLASS's training frames to keep (default 1)")
parser.add_argument("--classes", nargs="+", required=True)
parser.add_argument("--image-root", type=Path, help="folder of the images' file_name entries (default: beside the annotations)")
parser.add_argument("--clip-regex", default=r"^(?P<clip>.*?)[_-]?\d+$")
parser.add_argument("--seed", type=int, default=42)


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        annotations=Path(smk.input.annotations),
        splits=Path(smk.input.splits),
        out_dir=Path(p.out_dir),
        stats=Path(smk.output.stats),
        fraction=list(p.fractions.items()),
        classes=p.classes,
        image_root=Path(p.image_root),
        clip_regex=p.clip_regex,
        seed=p.seed,
    )


def run(args):
    project = read_coco_project(args.annotations, args.image_root or args.annotations.parent, args.classes, args.clip_regex)
    splits = json.loads(args.splits.read_text())
    fractions = {c: 1.0 for c in args.classes} | {c: float(f) for c, f in args.fraction}
    stats = prepare_dataset(project, splits, fractions, args.seed, args.out_dir)
    args.stats.write_text(json.dumps(stats, indent=1) + "\n")
    log(f"train frames per class: { {c: v['frames'] for c, v in stats['splits']['train']['classes'].items()} }")
    log(f"images linked by: {', '.join(stats['image_link_method'])}")


entry(globals(), parser, from_snakemake, run)
