"""The study's figures: per-class AP against the sampled fraction and the achieved ratio, and the
training curves of all experiments overlaid."""

import argparse
import json
from pathlib import Path

from detexp.cli import entry
from detexp.plots import plot_ap_against, plot_training_curves
from detexp.summary import run_info
from detexp.training import read_metrics

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("summaries", nargs="+", type=Path, help="experiment_summary.json files (metrics.csv read beside them)")
parser.add_argument("--out-dir", type=Path, default=Path("results/plots"))


def from_snakemake(smk):
    return argparse.Namespace(
        summaries=list(map(Path, smk.input.summaries)),
        metrics=list(map(Path, smk.input.metrics)),
        outputs={k: Path(v) for k, v in smk.output.items()},
    )


def run(args):
    if getattr(args, "outputs", None) is None:
        from detexp import layout

        args.metrics = [p.parent / layout.TRAINING_METRICS for p in args.summaries]
        args.out_dir.mkdir(parents=True, exist_ok=True)
        args.outputs = {k: args.out_dir / f"{k}.png" for k in ("ap_vs_fraction", "ap_vs_ratio", "training_curves")}
    summaries = [json.loads(p.read_text()) for p in args.summaries]
    plot_ap_against(summaries, "fraction", args.outputs["ap_vs_fraction"])
    plot_ap_against(summaries, "ratio", args.outputs["ap_vs_ratio"])
    curves = {run_info(s)["id"]: read_metrics(m) for s, m in zip(summaries, args.metrics)}
    plot_training_curves(curves, args.outputs["training_curves"])


entry(globals(), parser, from_snakemake, run)
