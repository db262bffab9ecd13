"""Score a run's test predictions again after post-hoc logit adjustment (the adjust_logits rule):
metrics beside the unadjusted ones of the same checkpoint, no model and no GPU."""

import json
from pathlib import Path

from detexp.cli import log, snakemake_only
from detexp.test.logit_adjustment import evaluate_adjusted


def run(smk):
    tau = smk.params.tau
    adjusted = evaluate_adjusted(
        json.loads(Path(smk.input.annotations).read_text()),
        json.loads(Path(smk.input.predictions).read_text()),
        json.loads(Path(smk.input.dataset_stats).read_text()),
        tau,
        smk.params.iou_threshold,
    )
    metrics = Path(smk.output.metrics)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(adjusted, indent=2) + "\n")
    log(f"logit adjustment, tau {tau}: best F1 {adjusted['f1']:.3f} at confidence {adjusted['best_f1_threshold']}")


snakemake_only(globals(), run)
