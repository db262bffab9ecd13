"""Compare experiments: one row per experiment summary, as CSV, Markdown and HTML."""

import argparse
from pathlib import Path

from detexp.cli import entry
from detexp.report.summary import write_comparison

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("summaries", nargs="+", type=Path, help="experiment_summary.json files")
parser.add_argument("--csv", type=Path, required=True)
parser.add_argument("--md", type=Path, required=True)
parser.add_argument("--html", type=Path, required=True)
parser.add_argument("--replicates", type=Path, required=True, help="CSV: mean, std and 95%% CI over replicates")
parser.add_argument("--stats", type=Path, help="the paired bootstrap's comparison_stats.csv: differences in the Markdown view")


def from_snakemake(smk):
    return argparse.Namespace(
        summaries=list(smk.input.summaries),
        stats=Path(smk.input.stats),
        csv=Path(smk.output.csv),
        md=Path(smk.output.md),
        html=Path(smk.output.html),
        replicates=Path(smk.output.replicates),
    )


def run(args):
    write_comparison(args.summaries, args.csv, args.md, args.html, args.replicates, args.stats)


entry(globals(), parser, from_snakemake, run)
