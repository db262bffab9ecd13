rule evaluate:
    input:
        checkpoint=CHECKPOINT,
        annotations=TEST_ANNOTATIONS,
    output:
        metrics=EVAL_METRICS,
        predictions=EVAL_PREDICTIONS,
        confusion_matrix=report(
            CONFUSION_MATRIX,
            caption="../report/confusion_matrix.rst",
            category="Experiments",
            subcategory="{run}",
            labels={"run": "{run}", "figure": "confusion matrix"},
        ),
    log:
        "logs/evaluate/{run}.log",
    benchmark:
        BENCHMARKS["evaluate"]
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
        runtime=GPU_MINUTES["evaluate"],
    params:
        batch_size=run_inference_setting("batch_size"),
        iou_threshold=config["evaluation"]["iou_threshold"],
        code=code_version("evaluate.py"),
    script:
        "../scripts/evaluate.py"


# Post-hoc logit adjustment: the evaluation's own predictions rescored (seconds, no model, no GPU).
rule adjust_logits:
    input:
        predictions=EVAL_PREDICTIONS,
        annotations=TEST_ANNOTATIONS,
        dataset_stats=DATASET_STATS,
    output:
        metrics=EVAL_ADJUSTED_METRICS,
    log:
        "logs/adjust_logits/{run}.log",
    conda:
        ENV
    params:
        tau=lambda wildcards: LOGIT_ADJUSTMENT["tau"],
        iou_threshold=config["evaluation"]["iou_threshold"],
        code=code_version("adjust_logits.py"),
    script:
        "../scripts/adjust_logits.py"
