"""Write the study's findings: per class and comparison, the AP difference with its interval and what
it rests on, in plain sentences (Markdown and HTML) - the findings rule."""

from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.job_warnings import read_warnings
from detexp.report.findings import findings, findings_html


def run(smk):
    import pandas as pd

    text = findings(pd.read_csv(smk.input.stats), pd.read_csv(smk.input.comparison), read_warnings(smk.params.logs))
    Path(smk.output.md).write_text(text)
    Path(smk.output.html).write_text(findings_html(text))
    log(text)


snakemake_only(globals(), run)
