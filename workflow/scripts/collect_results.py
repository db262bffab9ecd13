"""Print the comparison of a study's experiments from whatever results exist (also mid-run).

Replaces the original framework's collect_results.py: one row per experiment; experiments without
a summary yet are listed with how far they got (configured, dataset prepared, training, ...).
"""

import argparse
import sys
from pathlib import Path

from detexp import layout
from detexp.cli import entry
from detexp.collect import collect, render
from detexp.schemas import schema_default

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("results_dir", nargs="?", type=Path, default=Path(layout.RESULTS_DIR), help="default: %(default)s")
parser.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table")
parser.add_argument(
    "--experiments-dir",
    type=Path,
    default=Path(schema_default("experiments_dir")),
    help="experiment files: those with no results yet are listed as 'not started' (default: %(default)s)",
)


def from_snakemake(smk):
    raise SystemExit("collect_results.py is a command-line tool; the aggregate rule writes the comparison files")


def run(args):
    sys.stdout.write(render(collect(args.results_dir, args.experiments_dir), args.format))


entry(globals(), parser, from_snakemake, run)
