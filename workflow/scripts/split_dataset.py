"""Split a project's frames into train/valid/test by clip, once for the whole study."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry, log
from detexp.dataset import read_coco_project, split_by_clip

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("project_dir", type=Path)
parser.add_argument("output", type=Path, help="splits JSON to write")
parser.add_argument("--classes", nargs="+", required=True)
parser.add_argument("--annotations-file", default="_annotations.coco.json")
parser.add_argument("--images-dir", default=".")
parser.add_argument("--valid-fraction", type=float, default=0.15)
parser.add_argument("--test-fraction", type=float, default=0.15)
parser.add_argument("--clip-regex", default=r"^(?P<clip>.*?)[_-]?\d+$")
parser.add_argument("--seed", type=int, default=42)


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        project_dir=Path(p.project_dir),
        output=Path(smk.output[0]),
        classes=p.classes,
        annotations_file=p.annotations_file,
        images_dir=p.images_dir,
        valid_fraction=p.splits["valid_fraction"],
        test_fraction=p.splits["test_fraction"],
        clip_regex=p.splits["clip_regex"],
        seed=p.seed,
    )


def run(args):
    project = read_coco_project(args.project_dir, args.annotations_file, args.images_dir, args.classes, args.clip_regex)
    splits = split_by_clip(project.frames, args.valid_fraction, args.test_fraction, args.seed)
    args.output.write_text(json.dumps(splits, indent=1) + "\n")
    log("frames per split: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))


entry(globals(), parser, from_snakemake, run)
