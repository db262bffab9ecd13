# Runs where Snakemake runs (a local rule): compute nodes often have no internet.
rule fetch_weights:
    output:
        PUBLISHED_WEIGHTS,
    log:
        "logs/fetch_weights/{model}.log",
    localrule: True
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
    localrule: True
    conda:
        ENV
    params:
        runs=training_plan_runs,
        classes=CLASSES,
        study_dir=study_dir,
        code=code_version("training_plan.py"),
    script:
        "../scripts/training_plan.py"


# A run's training: its inputs, outputs and settings, whether it trains (train) or links the training
# its settings foresee it shares (link_training).
TRAINING_INPUTS = dict(
    annotations=expand(
        DATASET_SPLIT_ANNOTATIONS,
        split=SPLIT_NAMES,
        allow_missing=True,
    ),
    pretrain_weights=pretrain_weights,
    baseline_training_set=matched_baseline_training_set,
)
TRAINING_OUTPUTS = {
    # (a dict literal: Snakemake reads `checkpoint` at the start of a line as its keyword)
    "checkpoint": CHECKPOINT,
    "class_info": CLASS_INFO,
    "metrics": TRAINING_METRICS,
    "summary": TRAINING_SUMMARY,
}
TRAINING_PARAMS = dict(
    dataset_dir=dataset_dir,
    state_dir=TRAINING_STATE_DIR,
    lock=TRAINING_LOCK,
    kept_log=TRAINING_LOG,
    study_dir=study_dir,
    classes=CLASSES,
    training=run_training,
    seed=run_seed,
)


rule train:
    input:
        unpack(shared_training),
        **TRAINING_INPUTS,
    output:
        **TRAINING_OUTPUTS,
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
        **TRAINING_PARAMS,
        code=code_version("train.py"),
    script:
        "../scripts/train.py"


# Runs whose settings foresee another run's training link it where Snakemake runs: no GPU job.
LINKED_TRAININGS = reused_results(rules.train, "training")


ruleorder: link_training > train


rule link_training:
    input:
        unpack(reused_from(LINKED_TRAININGS, source_summary=TRAINING_SUMMARY)),
        **TRAINING_INPUTS,
    output:
        **TRAINING_OUTPUTS,
    log:
        "logs/train/{run}.log",
    wildcard_constraints:
        run=only_runs(LINKED_TRAININGS),
    localrule: True
    conda:
        ENV
    params:
        **TRAINING_PARAMS,
        source=lambda wildcards: LINKED_TRAININGS[wildcards.run],
        code=code_version("link_training.py"),
    script:
        "../scripts/link_training.py"
