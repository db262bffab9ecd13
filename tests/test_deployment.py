"""The workflow used as a module in a folder of the user's own, the way snakedeploy deploys it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from conftest import copy_workflow, job_counts, snakemake

# What snakedeploy writes into <deployment>/workflow/Snakefile (the source as a local path here).
MODULE_SNAKEFILE = """configfile: "config/config.yaml"


# declare the class-imbalance workflow as a module
module imbalance:
    snakefile:
        "{snakefile}"
    config:
        config


# use all rules from it
use rule * from imbalance
"""
# The user's own study config: the demo project, two experiments, no test videos.
USER_CONFIG = """project_dir: resources/demo_project
classes: [crane hook, person]
experiments: [exp_person_25, exp_person_100]
test_videos: []
splits: {valid_fraction: 0.2, test_fraction: 0.2}
training: {model: nano, epochs: 1, batch_size: 4, image_size: 64, patience: null, pretrain_weights: none,
           multi_scale: false, num_workers: 0}
statistics: {bootstrap_samples: 20}
"""


def deploy(source: Path, dest: Path) -> Path:
    """snakedeploy deploy-workflow: config/ copied as a template, workflow/Snakefile using the module;
    then, as the README says, the repository's profiles/ copied in and the config edited."""
    shutil.copytree(source / "config", dest / "config")
    (dest / "workflow").mkdir()
    (dest / "workflow/Snakefile").write_text(MODULE_SNAKEFILE.format(snakefile=source / "Snakefile"))
    shutil.copytree(source / "profiles", dest / "profiles")
    (dest / "config/config.yaml").write_text(USER_CONFIG)
    return dest


def test_the_workflow_runs_as_a_module_in_a_deployment_of_its_own(tmp_path):
    source = copy_workflow(tmp_path / "source")
    deployment = deploy(source, tmp_path / "my-study")
    out = snakemake(deployment, "--cores", "2").stdout
    assert "Using workflow specific profile profiles/default" in out
    table = pd.read_csv(deployment / "results/comparison.csv")
    assert sorted(table["run"]) == ["exp_person_100", "exp_person_25"]
    for made_here in ("resources/demo_project/_annotations.coco.json", "logs/train/exp_person_25.log", "benchmarks/train"):
        assert (deployment / made_here).exists(), made_here
    assert not (source / "results").exists() and not (source / "resources").exists()  # nothing lands in the workflow
    # content-based reruns hold in the deployment: a touched workflow reruns nothing
    for script in (source / "workflow").rglob("*.py"):
        script.touch()
    out = snakemake(deployment, "-n").stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-2000:]
    snakemake(deployment, "--report", "report.html")
    assert "exp_person_25" in (deployment / "report.html").read_text()
