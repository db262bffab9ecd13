rule infer:
    input:
        checkpoint=CHECKPOINT,
        video=video_path,
    output:
        video=DETECTED_VIDEO,
        detections=DETECTIONS,
    log:
        "logs/infer/{experiment}/{video}.log",
    benchmark:
        BENCHMARKS["infer"]
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
    params:
        threshold=config["inference"]["threshold"],
        batch_size=config["inference"]["batch_size"],
        frame_stride=config["inference"]["frame_stride"],
        max_frames=config["inference"]["max_frames"],
        code=code_version("infer.py", "detexp/inference.py", "detexp/video.py"),
    script:
        "../scripts/infer.py"
