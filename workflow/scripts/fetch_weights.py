"""Fetch RF-DETR's published COCO checkpoint of one model into the weights cache, verified by MD5."""

import argparse
from pathlib import Path

from detexp.cli import entry, log
from detexp.study.models import MODEL_VARIANTS
from detexp.study.weights import fetch

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("model", choices=sorted(MODEL_VARIANTS))
parser.add_argument("dest", type=Path, help="file to write, e.g. resources/weights/rf-detr-nano-coco.pth")


def from_snakemake(smk):
    return argparse.Namespace(model=smk.wildcards.model, dest=Path(smk.output[0]))


def run(args):
    fetch(args.model, args.dest, log=log)


entry(globals(), parser, from_snakemake, run)
