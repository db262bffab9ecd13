"""Print the comparison of a study's experiments from whatever results exist (also mid-run).

One row per run; runs without a summary yet are listed with how far they got (configured, dataset
prepared, training, ...).
"""

import argparse
import sys
from pathlib import Path

from detexp import layout
from detexp.report.collect import collect, paired_statistics, render, study_runs

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("results_dir", nargs="?", type=Path, default=Path(layout.RESULTS_DIR), help="default: %(default)s")
parser.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table")
parser.add_argument(
    "--all",
    dest="every_column",
    action="store_true",
    help="every column (csv and json always have every column; table and markdown show the compact view)",
)
parser.add_argument(
    "--configfile",
    nargs="+",
    type=Path,
    default=[],
    help="the config files the study was run with (as given to snakemake, after config/config.yaml): its runs "
    "without results yet are listed as 'not started'. Without it, only the runs in results_dir are listed",
)


def main(args: argparse.Namespace) -> None:
    planned = study_runs(args.configfile) if args.configfile else None
    classes = next(iter(planned.values())).config["classes"] if planned else None
    table = collect(args.results_dir, planned, classes)
    sys.stdout.write(render(table, args.format, paired_statistics(args.results_dir), args.every_column))


if __name__ == "__main__":  # a command-line tool only: the aggregate rule writes the comparison files
    main(parser.parse_args())
