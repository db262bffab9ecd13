"""Early cutoff on the demo: an identical rewrite upstream trains, evaluates and infers nothing anew,
and a docstring edit reruns nothing at all."""

from __future__ import annotations
import json
import re
from pathlib import Path
from conftest import DEMO_RUN as RUN
from conftest import copy_run, job_counts, snakemake


def _logs(run: Path, rule: str) -> dict[str, str]:
    return {p.relative_to(run / "logs" / rule).as_posix(): p.read_text() for p in (run / "logs" / rule).rglob("*.log")}


def test_an_identical_rewrite_upstream_trains_evaluates_and_infers_nothing_anew(demo_run, tmp_path):
    """A no-op statement in the module every dataset job imports (project.py) splits the project and
    re-prepares every dataset byte for byte: the rerun links every training, evaluation and inference;
    a docstring edit reruns nothing at all."""
    run = copy_run(demo_run, tmp_path / "run")
    for module in ("train/training.py", "data/dataset.py", "data/sampling.py", "data/formats/__init__.py"):
        path = run / "workflow/scripts/detexp" / module
        text = path.read_text()
        path.write_text(text.replace('"""', '"""Edited: ', 1))
        assert path.read_text() != text
    out = snakemake(run, "-n", *RUN).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-3000:]

    metrics_before = {p: p.read_bytes() for p in (run / "results").glob("*/evaluation/metrics.json")}
    dataset = run / "workflow/scripts/detexp/data/project.py"
    dataset.write_text(dataset.read_text() + "\n_NO_OP = None\n")
    counts = job_counts(snakemake(run, "-n", *RUN).stdout)
    assert counts["split_dataset"] == 1 and counts["prepare_dataset"] == 4 and counts["train"] == 4 and counts["evaluate"] == 4, (
        counts
    )
    snakemake(run, *RUN, "--cores", "2")
    trained = _logs(run, "train")
    assert len(trained) == 4 and all("nothing is trained" in log for log in trained.values()), trained
    for rule, jobs in (("evaluate", 4), ("infer", 8)):
        logs = _logs(run, rule)
        assert len(logs) == jobs and all(re.search("^reused: ", log, re.M) for log in logs.values()), logs
        assert not any(loaded in log for log in logs.values() for loaded in ("; device ", "frames in header")), logs
    assert {p: p.read_bytes() for p in metrics_before} == metrics_before
    summary = json.loads((run / "results/exp_person_25/experiment_summary.json").read_text())
    assert (
        summary["test"]["mAP_50_95"]
        == json.loads(metrics_before[run / "results/exp_person_25/evaluation/metrics.json"])["mAP_50_95"]
    )
