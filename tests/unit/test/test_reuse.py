"""reuse: a result of identical inputs (checkpoint, data, settings, code, device) is linked again, and
anything else is made; the real evaluate.py from the command line."""

from __future__ import annotations
import re
import subprocess
import sys
from pathlib import Path
from conftest import SCRIPTS
from detexp.test.reuse import MADE_FROM, run_or_reuse


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
