"""Write the study's findings: per class and comparison, the AP difference with its interval and what
it rests on, in plain sentences (Markdown and HTML)."""

import argparse
from pathlib import Path

from detexp.cli import entry, log
from detexp.report.findings import findings, findings_html
from detexp.job_warnings import read_warnings

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("comparison", type=Path, help="results/comparison.csv")
parser.add_argument("stats", type=Path, help="results/comparison_stats.csv (the paired bootstrap)")
parser.add_argument("out_md", type=Path)
parser.add_argument("out_html", type=Path)
parser.add_argument("--logs", nargs="*", default=[], help="the job logs whose warning: lines open the findings")


def from_snakemake(smk):
    return argparse.Namespace(
        comparison=Path(smk.input.comparison),
        stats=Path(smk.input.stats),
        out_md=Path(smk.output.md),
        out_html=Path(smk.output.html),
        logs=smk.params.logs,
    )


def run(args):
    import pandas as pd

    text = findings(pd.read_csv(args.stats), pd.read_csv(args.comparison), read_warnings(args.logs))
    args.out_md.write_text(text)
    args.out_html.write_text(findings_html(text))
    log(text)


entry(globals(), parser, from_snakemake, run)
