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
    localrule: True
    conda:
        ENV
    params:
        # read where they exist, not inputs: a deleted log must not make its job (a training) run again
        logs=warning_logs,
        code=code_version("findings.py"),
    script:
        "../scripts/findings.py"


onsuccess:
    # The answer, where a local run ends (a SLURM run's login node too).
    if Path(FINDINGS_MD).is_file():
        print(f"\n{Path(FINDINGS_MD).read_text()}")
