"""A strip of annotated frames of one test video: one row per run, the same frames in each - the
plot_video_strip rule."""

from pathlib import Path

from detexp.cli import snakemake_only
from detexp.report.plots import plot_video_strip


def run(smk):
    plot_video_strip(dict(zip(smk.params.runs, smk.input, strict=True)), Path(smk.output[0]))


snakemake_only(globals(), run)
