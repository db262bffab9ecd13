rule summarize:
    input:
        config=RESOLVED_CONFIG,
        dataset_stats=DATASET_STATS,
        training_summary=TRAINING_SUMMARY,
        metrics=TRAINING_METRICS,
        evaluation=EVAL_METRICS,
        detections=experiment_detections,
    output:
        SUMMARY,
    log:
        "logs/summarize/{experiment}.log",
    conda:
        ENV
    params:
        code=code_version("summarize.py", "detexp/summary.py"),
    script:
        "../scripts/summarize.py"


rule aggregate:
    input:
        experiment_summaries,
    output:
        csv=COMPARISON_CSV,
        md=COMPARISON_MD,
    log:
        "logs/aggregate.log",
    conda:
        ENV
    params:
        code=code_version("aggregate.py", "detexp/summary.py"),
    script:
        "../scripts/aggregate.py"
