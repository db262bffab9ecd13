"""Split a project's frames into train/valid/test by clip, once for the whole study."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry, log
from detexp.dataset import read_project, assign_splits

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("project_dir", type=Path, help="the labelled project (COCO, Roboflow COCO export, YOLO or Pascal VOC)")
parser.add_argument("output", type=Path, help="splits JSON to write")
parser.add_argument("--classes", nargs="+", required=True)
parser.add_argument("--format", default="auto", choices=["auto", "coco", "roboflow", "yolo", "voc"])
parser.add_argument("--annotations-file", help="COCO file in project_dir (default: detected)")
parser.add_argument("--images-dir", default=".", help="folder of the COCO file_name entries, in project_dir")
parser.add_argument("--valid-fraction", type=float, default=0.15)
parser.add_argument("--test-fraction", type=float, default=0.15)
parser.add_argument("--clip-regex", default=r"^(?P<clip>.*?)[_-]?\d+$")
parser.add_argument("--seed", type=int, default=42)


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        project_dir=Path(p.project_dir),
        format=p.project_format,
        annotations_file=p.annotations_file,
        output=Path(smk.output[0]),
        classes=p.classes,
        images_dir=p.images_dir,
        valid_fraction=p.splits["valid_fraction"],
        test_fraction=p.splits["test_fraction"],
        clip_regex=p.splits["clip_regex"],
        seed=p.seed,
    )


def run(args):
    project = read_project(
        args.project_dir, args.classes, args.clip_regex, args.format, args.annotations_file, args.images_dir
    )
    splits = assign_splits(project.frames, args.valid_fraction, args.test_fraction, args.seed)
    args.output.write_text(json.dumps(splits, indent=1) + "\n")
    log("frames per split: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))


entry(globals(), parser, from_snakemake, run)
