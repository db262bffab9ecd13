"""A change costs what it changes: results of identical inputs are linked again, and code edits that
do nothing (docstrings, comments) rerun nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import DEMO_RUN as RUN
from conftest import SCRIPTS, copy_run, job_counts, snakemake

from detexp.reuse import MADE_FROM, run_or_reuse


def _step(tmp_path: Path, calls: list[str], value: str = "result") -> tuple[dict[str, Path], callable]:
    outputs = {"metrics": tmp_path / "out/metrics.json", "plot": tmp_path / "out/plot.png"}

    def make() -> None:
        calls.append(value)
        outputs["metrics"].parent.mkdir(parents=True, exist_ok=True)
        outputs["metrics"].write_text(f'{{"value": "{value}"}}')
        outputs["plot"].write_bytes(b"\x89PNG " + value.encode())

    return outputs, make


def test_a_result_of_identical_inputs_is_linked_again_and_anything_else_is_made(tmp_path):
    source = tmp_path / "checkpoint.pth"
    source.write_bytes(b"weights")
    calls: list[str] = []
    logged: list[str] = []
    outputs, make = _step(tmp_path, calls)
    assert run_or_reuse(outputs, [source], {"batch_size": 4}, "code-1", make, logged.append) is False
    for path in outputs.values():  # Snakemake deletes a job's outputs before it reruns it
        path.unlink()
    assert run_or_reuse(outputs, [source], {"batch_size": 4}, "code-1", make, logged.append) is True
    assert calls == ["result"] and outputs["metrics"].read_text() == '{"value": "result"}'
    assert re.fullmatch(
        r"reused: metrics.json, plot.png of \d{4}-\d\d-\d\d \d\d:\d\d UTC \(.*out\), made from the same input files, "
        r"settings, code and device - no model loaded \(delete .*out/\.made_from/metrics\.json to compute them again\)",
        logged[-1],
    ), logged
    # any change of what it is made from makes it anew
    for files, settings, code in (([source], {"batch_size": 8}, "code-1"), ([source], {"batch_size": 4}, "code-2")):
        assert run_or_reuse(outputs, files, settings, code, make, logged.append) is False
    source.write_bytes(b"other weights")  # same name, other content
    assert run_or_reuse(outputs, [source], {"batch_size": 4}, "code-2", make, logged.append) is False
    assert len(calls) == 4
    # one record per result: the latest replaces the earlier ones
    assert [p.name for p in (tmp_path / "out" / MADE_FROM).iterdir()] == ["metrics.json"]


def test_a_record_whose_files_changed_is_not_trusted(tmp_path):
    source = tmp_path / "video.mp4"
    source.write_bytes(b"frames")
    calls: list[str] = []
    outputs, make = _step(tmp_path, calls)
    run_or_reuse(outputs, [source], {}, "c", make, print)
    kept = tmp_path / "out" / MADE_FROM / "metrics.json" / "plot"
    kept.unlink()
    kept.write_bytes(b"something else")  # the record's copy no longer holds what was made
    assert run_or_reuse(outputs, [source], {}, "c", make, print) is False and len(calls) == 2


def test_evaluate_from_the_command_line_reuses_with_reuse_only(demo_checkpoint, tmp_path):
    """The real entry script: a second evaluation of the same checkpoint and split loads no model."""
    annotations = demo_checkpoint.parents[1] / "dataset/test/_annotations.coco.json"
    outs = [tmp_path / n for n in ("metrics.json", "predictions.json", "cm.png")]

    def evaluate(*extra: str) -> str:
        cmd = [sys.executable, str(SCRIPTS / "evaluate.py"), str(demo_checkpoint), str(annotations), *map(str, outs), *extra]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    first = evaluate("--reuse")
    assert "images" in first and "reused" not in first
    metrics = outs[0].read_bytes()
    for path in outs:
        path.unlink()
    second = evaluate("--reuse")
    assert "reused: metrics.json, predictions.json, cm.png" in second and "; device " not in second, second
    assert outs[0].read_bytes() == metrics
    assert "reused" not in evaluate()  # without --reuse it evaluates


def _logs(run: Path, rule: str) -> dict[str, str]:
    return {p.relative_to(run / "logs" / rule).as_posix(): p.read_text() for p in (run / "logs" / rule).rglob("*.log")}


def test_an_identical_rewrite_upstream_trains_evaluates_and_infers_nothing_anew(demo_run, tmp_path):
    """A no-op statement in the module every dataset job imports (project.py) splits the project and
    re-prepares every dataset byte for byte: the rerun links every training, evaluation and inference;
    a docstring edit reruns nothing at all."""
    run = copy_run(demo_run, tmp_path / "run")
    for module in ("training.py", "dataset.py", "sampling.py", "formats/__init__.py"):
        path = run / "workflow/scripts/detexp" / module
        text = path.read_text()
        path.write_text(text.replace('"""', '"""Edited: ', 1))
        assert path.read_text() != text
    out = snakemake(run, "-n", *RUN).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-3000:]

    metrics_before = {p: p.read_bytes() for p in (run / "results").glob("*/evaluation/metrics.json")}
    dataset = run / "workflow/scripts/detexp/project.py"
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
