"""The workflow used as a module in a folder of the user's own, the way snakedeploy deploys it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from conftest import copy_workflow, job_counts, snakemake

# The README's <deployment>/workflow/Snakefile (the source as a local path here), its hook included.
MODULE_SNAKEFILE = """configfile: "config/config.yaml"


# declare the class-imbalance workflow as a module
module imbalance:
    snakefile:
        "{snakefile}"
    config:
        config


# use all rules from it
use rule * from imbalance


onsuccess:
    imbalance.onsuccess()
"""
# The user's own study config: the demo project, two experiments, no test videos.
USER_CONFIG = """project_dir: resources/demo_project
classes: [crane hook, person]
experiments: [exp_person_25, exp_person_100]
test_videos: []
splits: {valid_fraction: 0.2, test_fraction: 0.2}
training: {model: nano, epochs: 1, batch_size: 4, image_size: 64, patience: null, pretrain_weights: none,
           multi_scale: false, num_workers: 0, num_queries: 30, group_detr: 1}
statistics: {bootstrap_samples: 20}
demo_project: {clips: 24, frames_per_clip: 2}
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
    # the code versions recorded (a job of the workflow), the findings printed at the end (its hook)
    recorded = json.loads((deployment / "results/code_digests.json").read_text())
    assert {"train.py", "evaluate.py", "findings.py"} <= set(recorded), sorted(recorded)
    assert (deployment / "results/findings.md").read_text().strip() in out
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


def test_a_study_config_of_ones_own_is_told_what_it_inherits(workflow_copy, tmp_path):
    """A --configfile with its own project, classes and experiments but no test_videos: the dry run
    names the bundled study's videos it would inherit, and where they come from; with test_videos: []
    it plans the study with no such note."""
    from projects import coco_file

    project = tmp_path / "street"
    names = [f"clip{c}_{t:04d}.jpg" for c in range(6) for t in range(4)]
    for name in names:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(b"not decoded")
    coco_file(project / "_annotations.coco.json", names, [[i % 2] for i in range(len(names))], ["car", "bicycle"])
    experiments = tmp_path / "street_experiments"
    experiments.mkdir()
    (experiments / "bicycle_50.yaml").write_text("name: bicycle_50\nframe_sample_fractions: {bicycle: 0.5}\n")
    study = tmp_path / "street.yaml"
    study.write_text(f"project_dir: {project}\nclasses: [car, bicycle]\nexperiments_dir: {experiments}\n")
    proc = snakemake(workflow_copy, "-n", "--configfile", str(study), check=False)
    assert proc.returncode != 0
    assert "test_videos: " in proc.stdout and "videos/crane_hook+human_short.mp4 not found" in proc.stdout
    assert (
        "(test_videos ['crane_hook+human_short.mp4', 'crane_hook_1_short.mp4'] comes from config/config.yaml, the bundled "
        "study's settings, not from your config - set test_videos to your videos ([] for none))" in proc.stdout
    )
    study.write_text(study.read_text() + "test_videos: []\n")
    out = snakemake(workflow_copy, "-n", "--configfile", str(study)).stdout
    assert "note: " not in out and job_counts(out)["prepare_dataset"] == 1
    # the default experiments folder is the bundled study's: said so when a study leaves it out
    study.write_text(f"project_dir: {project}\nclasses: [car, bicycle]\ntest_videos: []\n")
    proc = snakemake(workflow_copy, "-n", "--configfile", str(study), check=False)
    assert proc.returncode != 0 and "unknown class 'person'" in proc.stdout
    assert "(experiments_dir 'config/experiments' comes from the default: the bundled study's experiment files" in proc.stdout


def test_collect_results_reads_the_study_it_is_pointed_at(tmp_path):
    """In a results folder of a study with its own experiments: that study's runs, no others."""
    import subprocess
    import sys

    from conftest import SCRIPTS

    results = tmp_path / "results"
    for run in ("bicycle_50", "bicycle_100"):
        (results / run).mkdir(parents=True)
        (results / run / "config.yaml").write_text(f"experiment: {{name: {run}, frame_sample_fractions: {{bicycle: 1.0}}}}\n")
    experiments = tmp_path / "street_experiments"
    experiments.mkdir()
    for name in ("bicycle_50", "bicycle_100", "bicycle_25"):
        (experiments / f"{name}.yaml").write_text(f"name: {name}\nframe_sample_fractions: {{bicycle: 1.0}}\n")
    (tmp_path / "street.yaml").write_text(f"project_dir: p\nclasses: [car, bicycle]\nexperiments_dir: {experiments}\n")
    # run where the repository's own config/ (the bundled study's experiments) is the working folder's
    shutil.copytree(SCRIPTS.parents[1] / "config", tmp_path / "config")
    command = [sys.executable, str(SCRIPTS / "collect_results.py"), "--format", "json"]
    rows = json.loads(subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True).stdout)
    assert sorted(r["run"] for r in rows) == ["bicycle_100", "bicycle_50"]  # no exp_person_* of the bundled study
    planned = subprocess.run(command + ["--configfile", "street.yaml"], cwd=tmp_path, capture_output=True, text=True, check=True)
    statuses = {r["run"]: r["status"] for r in json.loads(planned.stdout)}
    assert statuses == {"bicycle_100": "configured", "bicycle_25": "not started", "bicycle_50": "configured"}


def test_the_login_node_rules_stay_local_in_a_deployment_that_prefixes_the_rules(tmp_path):
    """Each local rule says so itself (`localrule: True`): a `localrules:` list names the rules
    unprefixed, and in a deployment that renames them (`use rule * from ... as prefix_*`) they would
    go to the cluster - fetch_weights onto a node without internet."""
    from conftest import readme_local_rules

    deployment = deploy(copy_workflow(tmp_path / "source"), tmp_path / "my-study")
    snakefile = deployment / "workflow/Snakefile"
    snakefile.write_text(snakefile.read_text().replace("use rule * from imbalance", "use rule * from imbalance as imbalance_*"))
    (deployment / "probe.smk").write_text(
        'include: "workflow/Snakefile"\nprint("LOCAL " + ",".join(sorted(workflow._localrules)))\n'
    )
    out = snakemake(deployment, "-n", "-s", "probe.smk").stdout
    assert set(out.split("LOCAL ", 1)[1].splitlines()[0].split(",")) == {f"imbalance_{rule}" for rule in readme_local_rules()}
