rule summarize:
    input:
        config=RESOLVED_CONFIG,
        dataset_stats=DATASET_STATS,
        training_summary=TRAINING_SUMMARY,
        metrics=TRAINING_METRICS,
        evaluation=EVAL_METRICS,
        adjusted=run_adjusted_metrics,
        detections=run_detections,
    output:
        summary=SUMMARY,
        curves=report(
            TRAINING_CURVES,
            caption="../report/experiment_curves.rst",
            category="Experiments",
            subcategory="{run}",
            labels={"run": "{run}", "figure": "training curves"},
        ),
    log:
        "logs/summarize/{run}.log",
    localrule: True
    conda:
        ENV
    params:
        benchmarks=run_benchmarks,
        code=code_version("summarize.py"),
    script:
        "../scripts/summarize.py"


rule aggregate:
    input:
        summaries=run_summaries,
        stats=COMPARISON_STATS,
    output:
        csv=COMPARISON_CSV,
        md=COMPARISON_MD,
        html=report(
            COMPARISON_HTML,
            caption="../report/comparison.rst",
            category="Comparison",
            labels={"result": "comparison table"},
        ),
        replicates=COMPARISON_REPLICATES,
    log:
        "logs/aggregate.log",
    localrule: True
    conda:
        ENV
    params:
        code=code_version("aggregate.py"),
    script:
        "../scripts/aggregate.py"
