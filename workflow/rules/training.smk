# Runs where Snakemake runs (a local rule): compute nodes often have no internet.
rule fetch_weights:
    output:
        PUBLISHED_WEIGHTS,
    log:
        "logs/fetch_weights/{model}.log",
    conda:
        ENV
    params:
        code=code_version("fetch_weights.py"),
    script:
        "../scripts/fetch_weights.py"


# Which runs share a training: decided once every run's dataset is prepared (a local job).
checkpoint training_plan:
    input:
        planned_annotations,
    output:
        TRAINING_PLAN,
    log:
        "logs/training_plan.log",
    conda:
        ENV
    params:
        runs=training_plan_runs,
        classes=CLASSES,
        study_dir=study_dir,
        code=code_version("training_plan.py"),
    script:
        "../scripts/training_plan.py"


rule train:
    input:
        unpack(shared_training),
        annotations=expand(
            DATASET_SPLIT_ANNOTATIONS,
            split=SPLIT_NAMES,
            allow_missing=True,
        ),
        pretrain_weights=pretrain_weights,
        baseline_training_set=matched_baseline_training_set,
    output:
        checkpoint=CHECKPOINT,
        class_info=CLASS_INFO,
        metrics=TRAINING_METRICS,
        summary=TRAINING_SUMMARY,
    log:
        "logs/train/{run}.log",
    benchmark:
        BENCHMARKS["train"]
    conda:
        ENV
    threads: train_threads
    resources:
        gpu=train_gpus,
        runtime=GPU_MINUTES["train"],
    params:
        dataset_dir=dataset_dir,
        state_dir=TRAINING_STATE_DIR,
        lock=TRAINING_LOCK,
        kept_log=TRAINING_LOG,
        study_dir=study_dir,
        classes=CLASSES,
        training=run_training,
        seed=run_seed,
        code=code_version("train.py"),
    script:
        "../scripts/train.py"
