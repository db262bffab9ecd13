"""A strip of annotated frames of one test video: one row per run, the same frames in each."""

import argparse
from pathlib import Path

from detexp.cli import entry
from detexp.report.plots import STRIP_FRAMES, plot_video_strip

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("out", type=Path, help="PNG to write")
parser.add_argument("videos", nargs="+", help="RUN=results/<run>/inference/detected_<video>.mp4")
parser.add_argument("--frames", type=int, default=STRIP_FRAMES, help="frames per row (default %(default)s)")


def from_snakemake(smk):
    return argparse.Namespace(
        out=Path(smk.output[0]), videos=[f"{r}={v}" for r, v in zip(smk.params.runs, smk.input)], frames=STRIP_FRAMES
    )


def run(args):
    plot_video_strip(dict(v.split("=", 1) for v in args.videos), args.out, args.frames)


entry(globals(), parser, from_snakemake, run)
