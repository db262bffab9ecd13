"""Paired bootstrap over test images: per-class AP differences between runs, with 95% intervals - the
compare_pairs rule."""

import json
from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.report.bootstrap import compare_runs
from detexp.report.columns import Stats
from detexp.tables import html_page


def run(smk):
    gt = json.loads(Path(smk.input.test_annotations).read_text())
    runs = smk.params.runs
    predictions = {run_id: json.loads(Path(path).read_text()) for run_id, path in zip(runs, smk.input.predictions, strict=True)}
    training = {
        run_id: json.loads(Path(path).read_text()) for run_id, path in zip(runs, smk.input.training_summaries, strict=True)
    }
    digests = {run_id: summary.get("training_digest") for run_id, summary in training.items()}
    seen = {run_id: summary.get("training_images_seen") for run_id, summary in training.items()}
    pairs = [tuple(pair) for pair in smk.params.pairs]
    samples = smk.params.samples
    table = compare_runs(gt, predictions, pairs, samples, smk.params.seed, digests, dict(smk.params.groups), seen)
    table.to_csv(smk.output.csv, index=False)
    Path(smk.output.html).write_text(html_page(table, "Paired bootstrap: AP difference to the reference run"))
    log(f"{len(pairs)} pair(s), {samples} bootstrap samples of {len(gt['images'])} test images")
    identical = table[table[Stats.NOTE] != ""][[Stats.RUN, Stats.REFERENCE]].drop_duplicates()
    for run_id, reference in identical.itertuples(index=False):
        log(f"{run_id} and {reference}: identical training inputs, one training - no difference to estimate")


snakemake_only(globals(), run)
