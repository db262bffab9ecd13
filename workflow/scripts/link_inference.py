"""A linked run's inference on one video: the inference of the run whose training it holds, reused
once the checkpoint is shown the same by content (detexp.linked_results)."""

from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.content import CACHE_FILE, ContentHashes
from detexp.linked_results import link_inference


def run(smk):
    link_inference(
        smk.wildcards.run,
        smk.params.source,
        Path(smk.input.checkpoint),
        Path(smk.input.video),
        Path(smk.input.source_checkpoint),
        {name: Path(smk.input[f"source_{name}"]) for name in ("video", "detections")},
        {name: Path(smk.output[name]) for name in ("video", "detections")},
        ContentHashes(Path(smk.params.study_dir) / CACHE_FILE),
        log,
    )


snakemake_only(globals(), run)
