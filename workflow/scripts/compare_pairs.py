"""Paired bootstrap over test images: per-class AP differences between runs, with 95% intervals."""

import argparse
import json
from pathlib import Path

from detexp.report.bootstrap import compare_runs
from detexp.cli import entry, log
from detexp.report.columns import Stats
from detexp.tables import html_page
from detexp.schemas import schema_default

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("test_annotations", type=Path, help="the test split's COCO file (results/<run>/dataset/test/)")
parser.add_argument("out_csv", type=Path)
parser.add_argument("out_html", type=Path, help="the same table as HTML")
parser.add_argument(
    "--pair",
    dest="pairs",
    nargs=2,
    action="append",
    required=True,
    metavar=("REFERENCE_RUN", "OTHER_RUN"),
    help="run ids to compare; repeat for more pairs",
)
parser.add_argument(
    "--predictions",
    nargs=2,
    action="append",
    required=True,
    metavar=("RUN", "PATH"),
    help="a run's test-split predictions (results/<run>/evaluation/predictions.json); one per run of the pairs",
)
parser.add_argument(
    "--training-summary",
    dest="training_summaries",
    nargs=2,
    action="append",
    default=[],
    metavar=("RUN", "PATH"),
    help="a run's training summary (results/<run>/training/training_summary.json): pairs with the same training "
    "digest are marked identical, and each row gives both runs' training images seen",
)
parser.add_argument(
    "--replicate-of",
    dest="groups",
    nargs=2,
    action="append",
    default=[],
    metavar=("RUN", "GROUP"),
    help="the experiment at its sweep point a replicate run belongs to: groups of 2 or more replicates also get the "
    "two-level interval over replicates and test images",
)
parser.add_argument("--samples", type=int, default=schema_default("statistics.bootstrap_samples"))
parser.add_argument("--seed", type=int, default=schema_default("seed"))


def from_snakemake(smk):
    return argparse.Namespace(
        test_annotations=Path(smk.input.test_annotations),
        out_csv=Path(smk.output.csv),
        out_html=Path(smk.output.html),
        pairs=smk.params.pairs,
        predictions=list(zip(smk.params.runs, smk.input.predictions, strict=True)),
        training_summaries=list(zip(smk.params.runs, smk.input.training_summaries, strict=True)),
        groups=list(smk.params.groups.items()),
        samples=smk.params.samples,
        seed=smk.params.seed,
    )


def run(args):
    gt = json.loads(args.test_annotations.read_text())
    predictions = {run_id: json.loads(Path(path).read_text()) for run_id, path in args.predictions}
    pairs = [tuple(pair) for pair in args.pairs]
    missing = sorted({run_id for pair in pairs for run_id in pair} - set(predictions))
    if missing:
        raise SystemExit(f"no --predictions for run(s) {', '.join(missing)} of the pairs")
    training = {run_id: json.loads(Path(path).read_text()) for run_id, path in args.training_summaries}
    digests = {run_id: summary.get("training_digest") for run_id, summary in training.items()}
    seen = {run_id: summary.get("training_images_seen") for run_id, summary in training.items()}
    table = compare_runs(gt, predictions, pairs, args.samples, args.seed, digests, dict(args.groups), seen)
    table.to_csv(args.out_csv, index=False)
    args.out_html.write_text(html_page(table, "Paired bootstrap: AP difference to the reference run"))
    log(f"{len(pairs)} pair(s), {args.samples} bootstrap samples of {len(gt['images'])} test images")
    identical = table[table[Stats.NOTE] != ""][[Stats.RUN, Stats.REFERENCE]].drop_duplicates()
    for run_id, reference in identical.itertuples(index=False):
        log(f"{run_id} and {reference}: identical training inputs, one training - no difference to estimate")


entry(globals(), parser, from_snakemake, run)
