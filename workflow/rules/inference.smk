rule infer:
    input:
        checkpoint=CHECKPOINT,
        video=video_path,
        dataset_stats=inference_priors,
    output:
        video=DETECTED_VIDEO,
        detections=DETECTIONS,
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
        threshold=run_inference_setting("threshold"),
        batch_size=run_inference_setting("batch_size"),
        frame_stride=run_inference_setting("frame_stride"),
        max_frames=run_inference_setting("max_frames"),
        precision=run_inference_setting("precision"),
        logit_adjustment_tau=INFERENCE_LOGIT_TAU,
        code=code_version("infer.py"),
    script:
        "../scripts/infer.py"
