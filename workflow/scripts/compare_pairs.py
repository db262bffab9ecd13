"""Paired bootstrap over test images: per-class AP differences between runs, with 95% intervals."""

import argparse
import json
from pathlib import Path

from detexp.bootstrap import compare_runs
from detexp.cli import entry, log
from detexp.summary import comparison_html
from detexp.schemas import schema_default

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("test_annotations", type=Path, help="the test split's _annotations.coco.json")
parser.add_argument("out_csv", type=Path, help="also writes the table as HTML beside it (.html)")
parser.add_argument(
    "--pair",
    nargs=2,
    action="append",
    required=True,
    metavar=("REFERENCE_DIR", "OTHER_DIR"),
    help="results/<run> folders (their evaluation/predictions.json); repeat for more pairs",
)
parser.add_argument("--samples", type=int, default=schema_default("statistics.bootstrap_samples"))
parser.add_argument("--seed", type=int, default=schema_default("seed"))


def from_snakemake(smk):
    predictions = dict(zip(smk.params.runs, map(Path, smk.input.predictions), strict=True))
    return argparse.Namespace(
        test_annotations=Path(smk.input.test_annotations),
        out_csv=Path(smk.output.csv),
        out_html=Path(smk.output.html),
        pairs=[tuple(p) for p in smk.params.pairs],
        predictions=predictions,
        samples=smk.params.samples,
        seed=smk.params.seed,
    )


def run(args):
    if getattr(args, "pairs", None) is None:
        from detexp.layout import EVAL_PREDICTIONS

        args.pairs = [(Path(a).name, Path(b).name) for a, b in args.pair]
        args.predictions = {Path(d).name: Path(d) / EVAL_PREDICTIONS for pair in args.pair for d in pair}
    gt = json.loads(args.test_annotations.read_text())
    predictions = {rid: json.loads(Path(path).read_text()) for rid, path in args.predictions.items()}
    table = compare_runs(gt, predictions, args.pairs, args.samples, args.seed)
    table.to_csv(args.out_csv, index=False)
    out_html = getattr(args, "out_html", None) or args.out_csv.with_suffix(".html")
    out_html.write_text(comparison_html(table, "Paired bootstrap over test images: AP difference to the reference run"))
    log(f"{len(args.pairs)} pair(s), {args.samples} bootstrap samples of {len(gt['images'])} test images")


entry(globals(), parser, from_snakemake, run)
