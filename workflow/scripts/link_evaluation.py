"""A linked run's evaluation: the evaluation of the run whose training it holds, reused once the
checkpoint and the test split are shown the same by content, and its settings the same as this run's
(detexp.test.linked_results)."""

from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.content import CACHE_FILE, ContentHashes
from detexp.test.linked_results import evaluation_settings, link_evaluation


def run(smk):
    link_evaluation(
        smk.wildcards.run,
        smk.params.source,
        Path(smk.input.checkpoint),
        Path(smk.input.annotations),
        Path(smk.input.source_checkpoint),
        Path(smk.input.source_annotations),
        {name: Path(smk.input[f"source_{name}"]) for name in ("metrics", "predictions", "confusion_matrix")},
        {name: Path(smk.output[name]) for name in ("metrics", "predictions", "confusion_matrix")},
        evaluation_settings(smk.params.batch_size, smk.params.iou_threshold),
        ContentHashes(Path(smk.params.study_dir) / CACHE_FILE),
        log,
    )


snakemake_only(globals(), run)
