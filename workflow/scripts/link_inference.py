"""A linked run's inference on one video: the inference of the run whose training it holds, reused
once the checkpoint is shown the same by content, and its settings the same as this run's
(detexp.test.linked_results)."""

import json
from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.content import CACHE_FILE, ContentHashes
from detexp.test.inference import InferenceSettings
from detexp.test.linked_results import inference_settings, link_inference
from detexp.test.logit_adjustment import LogitAdjustment


def run(smk):
    p = smk.params
    tau = p.logit_adjustment_tau
    adjustment = (
        None if tau is None else LogitAdjustment.of_run(float(tau), json.loads(Path(smk.input.dataset_stats[0]).read_text()))
    )
    settings = InferenceSettings(p.threshold, p.batch_size, p.frame_stride, p.max_frames, p.precision)
    link_inference(
        smk.wildcards.run,
        p.source,
        Path(smk.input.checkpoint),
        Path(smk.input.video),
        Path(smk.input.source_checkpoint),
        {name: Path(smk.input[f"source_{name}"]) for name in ("video", "detections")},
        {name: Path(smk.output[name]) for name in ("video", "detections")},
        inference_settings(settings, adjustment),
        ContentHashes(Path(p.study_dir) / CACHE_FILE),
        log,
    )


snakemake_only(globals(), run)
