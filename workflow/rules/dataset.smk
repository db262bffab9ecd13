rule split_dataset:
    input:
        sources=PROJECT_SOURCES,
    output:
        splits=SPLITS_FILE,
        html=report(
            SPLITS_HTML,
            caption="../report/splits.rst",
            category="Comparison",
            labels={"result": "frames and clips per split"},
        ),
    log:
        "logs/split_dataset.log",
    localrule: True
    conda:
        ENV
    params:
        project_dir=project_dir,
        project_files=project_files,
        project_format=PROJECT_FORMAT,
        annotations_file=config["annotations_file"],
        images_dir=config["images_dir"],
        degenerate_boxes=config["degenerate_boxes"],
        bad_images=config["bad_images"],
        classes=CLASSES,
        splits=sorted_dict(config["splits"]),
        seed=config["seed"],
        code=code_version("split_dataset.py"),
    script:
        "../scripts/split_dataset.py"


rule prepare_dataset:
    input:
        sources=PROJECT_SOURCES,
        splits=SPLITS_FILE,
    output:
        annotations=expand(
            DATASET_SPLIT_ANNOTATIONS,
            split=SPLIT_NAMES,
            allow_missing=True,
        ),
        stats=DATASET_STATS,
    log:
        "logs/prepare_dataset/{run}.log",
    benchmark:
        BENCHMARKS["prepare_dataset"]
    conda:
        ENV
    params:
        project_dir=project_dir,
        project_files=project_files,
        project_format=PROJECT_FORMAT,
        annotations_file=config["annotations_file"],
        images_dir=config["images_dir"],
        degenerate_boxes=config["degenerate_boxes"],
        bad_images=config["bad_images"],
        classes=CLASSES,
        clip_regex=config["splits"]["clip_regex"],
        fractions=run_fractions,
        frame_sampling=run_frame_sampling,
        background_fraction=run_background_fraction,
        remedies=run_remedies,
        seed=run_seed,
        out_dir=dataset_dir,
        code=code_version("prepare_dataset.py"),
    script:
        "../scripts/prepare_dataset.py"


rule resolve_config:
    output:
        RESOLVED_CONFIG,
    log:
        "logs/resolve_config/{run}.log",
    localrule: True
    conda:
        ENV
    params:
        config=run_config,
        code=code_version("resolve_config.py"),
    script:
        "../scripts/resolve_config.py"
