"""Split a project's frames into train/valid/test by clip, once for the whole study."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry, log
from detexp.dataset import read_coco_project, split_by_clip

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("annotations", type=Path, help="the project's COCO annotation file")
parser.add_argument("output", type=Path, help="splits JSON to write")
parser.add_argument("--classes", nargs="+", required=True)
parser.add_argument("--image-root", type=Path, help="folder of the images' file_name entries (default: beside the annotations)")
parser.add_argument("--valid-fraction", type=float, default=0.15)
parser.add_argument("--test-fraction", type=float, default=0.15)
parser.add_argument("--clip-regex", default=r"^(?P<clip>.*?)[_-]?\d+$")
parser.add_argument("--seed", type=int, default=42)


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        annotations=Path(smk.input.annotations),
        output=Path(smk.output[0]),
        classes=p.classes,
        image_root=Path(p.image_root),
        valid_fraction=p.splits["valid_fraction"],
        test_fraction=p.splits["test_fraction"],
        clip_regex=p.splits["clip_regex"],
        seed=p.seed,
    )


def run(args):
    project = read_coco_project(args.annotations, args.image_root or args.annotations.parent, args.classes, args.clip_regex)
    splits = split_by_clip(project.frames, args.valid_fraction, args.test_fraction, args.seed)
    args.output.write_text(json.dumps(splits, indent=1) + "\n")
    log("frames per split: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))


entry(globals(), parser, from_snakemake, run)
