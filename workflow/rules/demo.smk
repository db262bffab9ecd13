rule make_demo_project:
    output:
        annotations=DEMO_ANNOTATIONS,
        videos=[
            f"{DEMO_PROJECT_DIR}/{PROJECT_VIDEOS_DIR}/{name}" for name in DEMO_VIDEOS
        ],
    log:
        "logs/make_demo_project.log",
    conda:
        ENV
    params:
        code=code_version("make_demo_project.py"),
    script:
        "../scripts/make_demo_project.py"
