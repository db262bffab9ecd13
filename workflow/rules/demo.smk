rule make_demo_project:
    output:
        annotations=DEMO_ANNOTATIONS,
        videos=[
            f"{DEMO_PROJECT_DIR}/{PROJECT_VIDEOS_DIR}/{name}" for name in DEMO_VIDEOS
        ],
    log:
        "logs/make_demo_project.log",
    localrule: True
    conda:
        ENV
    params:
        clips=config["demo_project"]["clips"],
        frames_per_clip=config["demo_project"]["frames_per_clip"],
        code=code_version("make_demo_project.py"),
    script:
        "../scripts/make_demo_project.py"
