"""Sample one experiment's training frames and write its RF-DETR dataset and statistics."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry, log
from detexp.dataset import prepare_dataset, read_project

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("project_dir", type=Path, help="the labelled project (COCO, Roboflow COCO export, YOLO or Pascal VOC)")
parser.add_argument("splits", type=Path, help="splits JSON from split_dataset.py")
parser.add_argument("out_dir", type=Path, help="dataset folder to write (train/ valid/ test/)")
parser.add_argument("stats", type=Path, help="dataset statistics JSON to write")
parser.add_argument("--fraction", nargs=2, action="append", metavar=("CLASS", "F"), default=[],
                    help="fraction of CLASS's training frames to keep (default 1)")
parser.add_argument("--classes", nargs="+", required=True)
parser.add_argument("--format", default="auto", choices=["auto", "coco", "roboflow", "yolo", "voc"])
parser.add_argument("--annotations-file", help="COCO file in project_dir (default: detected)")
parser.add_argument("--images-dir", default=".", help="folder of the COCO file_name entries, in project_dir")
parser.add_argument("--clip-regex", default=r"^(?P<clip>.*?)[_-]?\d+$")
parser.add_argument("--background-fraction", type=float, default=0.0,
                    help="fraction of training frames with none of the classes to keep")
parser.add_argument("--seed", type=int, default=42)


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        project_dir=Path(p.project_dir),
        format=p.project_format,
        annotations_file=p.annotations_file,
        splits=Path(smk.input.splits),
        out_dir=Path(p.out_dir),
        stats=Path(smk.output.stats),
        fraction=list(p.fractions.items()),
        classes=p.classes,
        images_dir=p.images_dir,
        clip_regex=p.clip_regex,
        seed=p.seed,
        background_fraction=p.background_fraction,
    )


def run(args):
    project = read_project(
        args.project_dir, args.classes, args.clip_regex, args.format, args.annotations_file, args.images_dir
    )
    splits = json.loads(args.splits.read_text())
    fractions = {c: 1.0 for c in args.classes} | {c: float(f) for c, f in args.fraction}
    stats = prepare_dataset(project, splits, fractions, args.seed, args.out_dir, args.background_fraction)
    args.stats.write_text(json.dumps(stats, indent=1) + "\n")
    log(f"train frames per class: { {c: v['frames'] for c, v in stats['splits']['train']['classes'].items()} }")
    log(f"images linked by: {', '.join(stats['image_link_method'])}")


entry(globals(), parser, from_snakemake, run)
