rule evaluate:
    input:
        checkpoint=CHECKPOINT,
        annotations=TEST_ANNOTATIONS,
    output:
        metrics=EVAL_METRICS,
        predictions=EVAL_PREDICTIONS,
        confusion_matrix=CONFUSION_MATRIX,
    log:
        "logs/evaluate/{experiment}.log",
    benchmark:
        "benchmarks/evaluate/{experiment}.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        batch_size=config["inference"]["batch_size"],
        code=code_version("evaluate.py", "detexp/evaluation.py"),
    script:
        "../scripts/evaluate.py"
