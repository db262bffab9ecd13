"""Train RF-DETR on one experiment's prepared dataset."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry, log
from detexp.training import train

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("dataset_dir", type=Path, help="folder with train/ valid/ test/ COCO splits")
parser.add_argument("output_dir", type=Path)
parser.add_argument("--classes", nargs="+", required=True)
parser.add_argument("--training", type=json.loads, required=True,
                    help='training settings as JSON, e.g. \'{"model": "nano", "epochs": 1, ...}\' (all keys of config training:)')
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--pretrain-path", help="local file of pretrain_weights (for auto: the fetched published checkpoint)")


def from_snakemake(smk):
    p = smk.params
    return argparse.Namespace(
        dataset_dir=Path(p.dataset_dir), output_dir=Path(p.output_dir), classes=p.classes, training=p.training, seed=p.seed,
        pretrain_path=smk.input.pretrain_weights or None,
    )


def run(args):
    train(args.dataset_dir, args.output_dir, args.classes, args.training, args.seed, args.pretrain_path, log=log)


entry(globals(), parser, from_snakemake, run)
