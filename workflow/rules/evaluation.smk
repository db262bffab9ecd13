# A run's evaluation: computed on a GPU (evaluate), or reused from the run whose training it holds.
EVALUATION_OUTPUTS = dict(
    metrics=EVAL_METRICS,
    predictions=EVAL_PREDICTIONS,
    confusion_matrix=confusion_matrix_output(CONFUSION_MATRIX),
)
# The evaluation's settings: the same for its reuse, which checks them against the source's record.
EVALUATION_PARAMS = dict(
    batch_size=run_inference_setting("batch_size"),
    iou_threshold=config["evaluation"]["iou_threshold"],
)


rule evaluate:
    input:
        checkpoint=CHECKPOINT,
        annotations=TEST_ANNOTATIONS,
    output:
        **EVALUATION_OUTPUTS,
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
        **EVALUATION_PARAMS,
        code=code_version("evaluate.py"),
    script:
        "../scripts/evaluate.py"


# Runs whose settings foresee another run's training reuse its evaluation where Snakemake runs.
REUSED_EVALUATIONS = reused_results(rules.evaluate, "evaluation")


ruleorder: link_evaluation > evaluate


rule link_evaluation:
    input:
        unpack(
            reused_from(
                REUSED_EVALUATIONS,
                source_checkpoint=CHECKPOINT,
                source_annotations=TEST_ANNOTATIONS,
                source_metrics=EVAL_METRICS,
                source_predictions=EVAL_PREDICTIONS,
                source_confusion_matrix=CONFUSION_MATRIX,
            )
        ),
        checkpoint=CHECKPOINT,
        annotations=TEST_ANNOTATIONS,
    output:
        **EVALUATION_OUTPUTS,
    log:
        "logs/evaluate/{run}.log",
    wildcard_constraints:
        run=only_runs(REUSED_EVALUATIONS),
    localrule: True
    conda:
        ENV
    params:
        **EVALUATION_PARAMS,
        source=lambda wildcards: REUSED_EVALUATIONS[wildcards.run],
        study_dir=study_dir,
        code=code_version("link_evaluation.py"),
    script:
        "../scripts/link_evaluation.py"


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
    localrule: True
    conda:
        ENV
    params:
        tau=lambda wildcards: LOGIT_ADJUSTMENT["tau"],
        iou_threshold=config["evaluation"]["iou_threshold"],
        code=code_version("adjust_logits.py"),
    script:
        "../scripts/adjust_logits.py"
