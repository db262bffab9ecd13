rule summarize:
    input:
        config=RESOLVED_CONFIG,
        dataset_stats=DATASET_STATS,
        training_summary=TRAINING_SUMMARY,
        metrics=TRAINING_METRICS,
        evaluation=EVAL_METRICS,
        detections=experiment_detections,
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
    conda:
        ENV
    params:
        benchmarks=experiment_benchmarks,
        code=code_version("summarize.py"),
    script:
        "../scripts/summarize.py"


rule aggregate:
    input:
        summaries=experiment_summaries,
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
    conda:
        ENV
    params:
        code=code_version("aggregate.py"),
    script:
        "../scripts/aggregate.py"


rule plot_comparison:
    input:
        summaries=experiment_summaries,
        metrics=experiment_training_metrics,
    output:
        ap_vs_fraction=report(
            PLOT_AP_VS_FRACTION,
            caption="../report/ap_vs_fraction.rst",
            category="Comparison",
            labels={"result": "AP against the sampled fraction"},
        ),
        ap_vs_ratio=report(
            PLOT_AP_VS_RATIO,
            caption="../report/ap_vs_ratio.rst",
            category="Comparison",
            labels={"result": "AP against the achieved ratio"},
        ),
        training_curves=report(
            PLOT_TRAINING_CURVES,
            caption="../report/training_curves.rst",
            category="Comparison",
            labels={"result": "training curves, all experiments"},
        ),
    log:
        "logs/plot_comparison.log",
    conda:
        ENV
    params:
        code=code_version("plot_comparison.py"),
    script:
        "../scripts/plot_comparison.py"


rule plot_video_strip:
    input:
        video_of_every_run,
    output:
        report(
            PLOT_VIDEO_STRIP,
            caption="../report/video_strip.rst",
            category="Test videos",
            labels={"video": "{video}"},
        ),
    log:
        "logs/plot_video_strip/{video}.log",
    conda:
        ENV
    params:
        runs=STRIP_RUNS,
        code=code_version("plot_video_strip.py"),
    script:
        "../scripts/plot_video_strip.py"


rule compare_pairs:
    input:
        predictions=compared_predictions,
        training_summaries=compared_training_summaries,
        test_annotations=shared_test_split,
    output:
        csv=COMPARISON_STATS,
        html=report(
            COMPARISON_STATS_HTML,
            caption="../report/comparison_stats.rst",
            category="Comparison",
            labels={"result": "paired bootstrap against the reference"},
        ),
    log:
        "logs/compare_pairs.log",
    benchmark:
        COMPARE_PAIRS_BENCHMARK
    conda:
        ENV
    params:
        pairs=[list(pair) for pair in PAIRS],
        runs=COMPARED_RUNS,
        groups=REPLICATE_GROUPS,
        samples=config["statistics"]["bootstrap_samples"],
        seed=config["seed"],
        code=code_version("compare_pairs.py"),
    script:
        "../scripts/compare_pairs.py"


rule findings:
    input:
        comparison=COMPARISON_CSV,
        stats=COMPARISON_STATS,
    output:
        md=FINDINGS_MD,
        html=report(
            FINDINGS_HTML,
            caption="../report/findings.rst",
            category="Findings",
            labels={"result": "the answer, in sentences"},
        ),
    log:
        "logs/findings.log",
    conda:
        ENV
    params:
        code=code_version("findings.py"),
    script:
        "../scripts/findings.py"


onsuccess:
    # The answer, where a local run ends (a SLURM run's login node too).
    if Path(FINDINGS_MD).is_file():
        print(f"\n{Path(FINDINGS_MD).read_text()}")
