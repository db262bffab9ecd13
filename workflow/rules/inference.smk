# A run's inference on one video: computed on a GPU (infer), or reused from the run whose training it holds.
INFERENCE_OUTPUTS = dict(video=DETECTED_VIDEO, detections=DETECTIONS)
# The inference's settings: the same for its reuse, which checks them against the source's record.
INFERENCE_PARAMS = dict(
    threshold=run_inference_setting("threshold"),
    batch_size=run_inference_setting("batch_size"),
    frame_stride=run_inference_setting("frame_stride"),
    max_frames=run_inference_setting("max_frames"),
    precision=run_inference_setting("precision"),
    logit_adjustment_tau=INFERENCE_LOGIT_TAU,
)


rule infer:
    input:
        checkpoint=CHECKPOINT,
        video=video_path,
        dataset_stats=inference_priors,
    output:
        **INFERENCE_OUTPUTS,
    log:
        "logs/infer/{run}/{video}.log",
    benchmark:
        BENCHMARKS["infer"]
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
        runtime=GPU_MINUTES["infer"],
    params:
        **INFERENCE_PARAMS,
        video_file=video_file,
        code=code_version("infer.py"),
    script:
        "../scripts/infer.py"


# Runs whose settings foresee another run's training reuse its inference where Snakemake runs.
REUSED_INFERENCES = reused_results(rules.infer, "inference") if VIDEOS else {}


ruleorder: link_inference > infer


rule link_inference:
    input:
        unpack(
            reused_from(
                REUSED_INFERENCES,
                source_checkpoint=CHECKPOINT,
                source_video=DETECTED_VIDEO,
                source_detections=DETECTIONS,
            )
        ),
        checkpoint=CHECKPOINT,
        video=video_path,
        dataset_stats=inference_priors,
    output:
        **INFERENCE_OUTPUTS,
    log:
        "logs/infer/{run}/{video}.log",
    wildcard_constraints:
        run=only_runs(REUSED_INFERENCES),
    localrule: True
    conda:
        ENV
    params:
        **INFERENCE_PARAMS,
        source=lambda wildcards: REUSED_INFERENCES[wildcards.run],
        study_dir=study_dir,
        code=code_version("link_inference.py"),
    script:
        "../scripts/link_inference.py"
