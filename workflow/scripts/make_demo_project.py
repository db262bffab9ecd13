"""Write the synthetic demo project (COCO frames and test videos)."""

import argparse
from pathlib import Path

from detexp.cli import entry, log
from detexp.demo import DEMO_VIDEOS, make_demo_project

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("out_dir", type=Path, help="project folder to write")


def from_snakemake(smk):
    return argparse.Namespace(out_dir=Path(smk.output.annotations).parent)


def run(args):
    counts = make_demo_project(args.out_dir, DEMO_VIDEOS)
    log(f"demo project in {args.out_dir}: {counts}")


entry(globals(), parser, from_snakemake, run)
