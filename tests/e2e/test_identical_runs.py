"""Two experiments with identical training inputs train once, through the workflow."""

from __future__ import annotations
import json
import pandas as pd


def test_two_identical_experiments_train_once_through_the_workflow(workflow_copy):
    """The training_plan checkpoint makes the second run wait for the first's training and link it;
    the comparison and the paired bootstrap say the two are the same."""
    from conftest import DEMO, job_counts, snakemake

    experiments = workflow_copy / "config/identical"
    experiments.mkdir()
    for name in ("same_a", "same_b"):
        (experiments / f"{name}.yaml").write_text(f"name: {name}\nframe_sample_fractions: {{person: 1.0}}\n")
    (workflow_copy / "config/identical.yaml").write_text(
        "experiments_dir: config/identical\ntest_videos: [crane_hook_1_short.mp4]\n"
        "statistics: {pairs: [[same_a, same_b]], bootstrap_samples: 20}\n"
    )
    args = (*DEMO, "config/identical.yaml")
    planned = snakemake(workflow_copy, "-n", *args)
    # foreseen at DAG build: same_b's training, evaluation and inference are same_a's, in local jobs
    pairs = ("train", "link_training", "evaluate", "link_evaluation", "infer", "link_inference")
    assert {rule: job_counts(planned.stdout).get(rule) for rule in pairs} == dict.fromkeys(pairs, 1)
    for what in ("training", "evaluation", "inference"):
        note = f"note: {what} linked where Snakemake runs (no GPU job), for runs that will hold another run's training: same_b <- same_a"
        assert note in planned.stdout
    snakemake(workflow_copy, *args, "--cores", "2")
    log_a = (workflow_copy / "logs/train/same_a.log").read_text()
    log_b = (workflow_copy / "logs/train/same_b.log").read_text()
    assert "rfdetr train() arguments" in log_a and "rfdetr train() arguments" not in log_b  # one training
    assert "the same training inputs as run same_a" in log_b
    assert "run same_b has the same training inputs as run same_a" in (workflow_copy / "logs/training_plan.log").read_text()
    plan = json.loads((workflow_copy / "results/training_plan.json").read_text())
    assert plan["same_a"]["shares_training_of"] is None and plan["same_b"]["shares_training_of"] == "same_a"
    summary_b = json.loads((workflow_copy / "results/same_b/training/training_summary.json").read_text())
    # linked as planned: its job waited for same_a's training in the DAG, not by chance of timing
    assert summary_b["same_training_as"] == "same_a" and summary_b["linked_by_plan"] is True
    a, b = (workflow_copy / f"results/{r}/training/checkpoint_best_total.pth" for r in ("same_a", "same_b"))
    assert a.stat().st_ino == b.stat().st_ino
    # same_b's evaluation and inference: same_a's, checked by content and named as such, no model loaded
    for log, result in [
        ("logs/evaluate/same_b.log", "evaluation/metrics.json"),
        ("logs/infer/same_b/crane_hook_1_short.log", "inference/crane_hook_1_short_detections.json"),
    ]:
        text = (workflow_copy / log).read_text()
        assert "run same_b holds run same_a's training (the same checkpoint" in text and "rf-detr" not in text, text
        own, source = (json.loads((workflow_copy / f"results/{r}/{result}").read_text()) for r in ("same_b", "same_a"))
        reused_from = own.pop("reused_from_run", None) or own["model"].pop("reused_from_run")
        assert reused_from == "same_a"
        named = own if "checkpoint" in own else own["model"]
        assert named.pop("checkpoint") == str(b.relative_to(workflow_copy))
        (source if "checkpoint" in source else source["model"]).pop("checkpoint")
        own.pop("test_annotations", None), source.pop("test_annotations", None)
        assert own == source
    comparison = pd.read_csv(workflow_copy / "results/comparison.csv").set_index("run")
    assert comparison.loc["same_a", "notes"] == "same training data as same_b"
    assert comparison.loc["same_b", "notes"] == "same training data as same_a"
    stats = pd.read_csv(workflow_copy / "results/comparison_stats.csv")
    assert len(stats) == 4 and stats["note"].str.startswith("identical training").all() and stats["difference"].isna().all()
    # the plan is settled: nothing is stale, and the finished runs do not wait for it again
    out = snakemake(workflow_copy, "-n", *args).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-2000:]
