"""Compare experiments: one row per experiment summary, as CSV, Markdown and HTML - the aggregate rule
(collect_results.py prints the same comparison from the command line, also mid-study)."""

from pathlib import Path

from detexp.cli import snakemake_only
from detexp.report.summary import write_comparison


def run(smk):
    write_comparison(
        list(smk.input.summaries),
        Path(smk.output.csv),
        Path(smk.output.md),
        Path(smk.output.html),
        Path(smk.output.replicates),
        Path(smk.input.stats),
    )


snakemake_only(globals(), run)
