"""Split a project's frames into train/valid/test by clip, once for the whole study."""

import argparse
import json
from pathlib import Path

from detexp.cli import add_project_arguments, entry, log, project_arguments
from detexp.dataset import assign_splits, read_project
from detexp.schemas import schema_default

parser = argparse.ArgumentParser(description=__doc__)
add_project_arguments(parser)
parser.add_argument("output", type=Path, help="splits JSON to write")
parser.add_argument("--valid-fraction", type=float, default=schema_default("splits.valid_fraction"))
parser.add_argument("--test-fraction", type=float, default=schema_default("splits.test_fraction"))


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        **project_arguments(p),
        output=Path(smk.output[0]),
        valid_fraction=p.splits["valid_fraction"],
        test_fraction=p.splits["test_fraction"],
        clip_regex=p.splits["clip_regex"],
    )


def run(args):
    project = read_project(args.project_dir, args.classes, args.clip_regex, args.format, args.annotations_file, args.images_dir)
    splits = assign_splits(project.frames, args.valid_fraction, args.test_fraction, args.seed, project.clip_rule)
    args.output.write_text(json.dumps(splits, indent=1) + "\n")
    log("frames per split: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))


entry(globals(), parser, from_snakemake, run)
