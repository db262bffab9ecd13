"""The study's figures: per-class AP against the sampled fraction and the achieved ratio, and the
training curves of all runs overlaid - the plot_comparison rule."""

import json
from pathlib import Path

from detexp.cli import snakemake_only
from detexp.report.plots import plot_ap_against, plot_training_curves
from detexp.report.summary import run_info
from detexp.train.metrics import read_metrics


def run(smk):
    summaries = [json.loads(Path(p).read_text()) for p in smk.input.summaries]
    plot_ap_against(summaries, "fraction", Path(smk.output.ap_vs_fraction))
    plot_ap_against(summaries, "ratio", Path(smk.output.ap_vs_ratio))
    curves = {run_info(s)["id"]: read_metrics(Path(m)) for s, m in zip(summaries, smk.input.metrics)}
    plot_training_curves(curves, Path(smk.output.training_curves))


snakemake_only(globals(), run)
