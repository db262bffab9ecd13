rule plot_comparison:
    input:
        summaries=run_summaries,
        metrics=run_training_metrics,
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
    localrule: True
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
    localrule: True
    conda:
        ENV
    params:
        runs=STRIP_RUNS,
        code=code_version("plot_video_strip.py"),
    script:
        "../scripts/plot_video_strip.py"
