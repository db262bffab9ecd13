from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from detexp.report.findings import findings
from detexp.data.formats import degenerate_box_warning
from detexp.job_warnings import OTHER, grouped, kind_of, read_warnings, warnings_section
from detexp.data.sampling import sampling_warnings

KEPT = {"kept_share": 1.0, "requested_share": 0.25, "frames_kept": 10, "frames_available": 10, "frames_drawn": 3}


def _job_messages() -> dict[str, str]:
    """One message of each kind, as the code that writes them words it."""
    stats = {
        "over_kept_classes": ["bicycle"],
        "per_class_sampling": {
            "bicycle": {**KEPT, "entered_through": {"car": 7}, "dropped_by_exact": 0},
            "car": {**KEPT, "kept_share": 0.2, "frames_kept": 2, "entered_through": {}, "dropped_by_exact": 1},
        },
    }
    kept, exact = sampling_warnings(stats)
    boxes = degenerate_box_warning(SimpleNamespace(degenerate_boxes=["a.jpg: [1, 2, 0, 5]"]))
    return {
        "kept shares above the requested ones": kept,
        "frames lost to frame_sampling: exact": exact,
        "boxes dropped": boxes,
        # split_dataset.py's and shared_training.py's, in their words
        "clips in more than one split": "warning: the project's own splits put frames of 2 clip(s) in more than one split, e.g. 'c1'",
        "trainings not reused": "warning: results/a/training/checkpoint.pth is not the checkpoint ...: it is never used again; this run trains anew",
    }


def test_each_kind_of_job_warning_is_recognised_from_its_own_wording(tmp_path):
    messages = _job_messages()
    for kind, line in messages.items():
        assert kind_of(line.removeprefix("warning: ")) == kind, line
    assert kind_of("something new") == OTHER


def test_warnings_are_read_from_the_logs_that_exist_once_each_and_grouped_by_kind(tmp_path):
    messages = list(_job_messages().values())
    a, b = tmp_path / "split.log", tmp_path / "prepare_a.log"
    a.write_text(f"frames per split: train 10\n{messages[3]}\n{messages[3]}\n")
    b.write_text(f"{messages[0]}\n  {messages[1]}\nwarning: something new\nno warning: here\n")
    found = read_warnings([a, b, tmp_path / "not_run_yet.log"])
    assert [w.log for w in found] == [str(a), str(b), str(b), str(b)]
    assert list(grouped(found)) == [
        "kept shares above the requested ones",
        "frames lost to frame_sampling: exact",
        "clips in more than one split",
        OTHER,
    ]
    section = warnings_section(found)
    assert section[:3] == ["", "## Warnings", ""]
    assert "**clips in more than one split** (1)" in section and f"- `{a}`: {messages[3].removeprefix('warning: ')}" in section
    assert warnings_section([]) == []


def test_findings_open_with_the_warnings(tmp_path):
    log = tmp_path / "prepare.log"
    kept = _job_messages()["kept shares above the requested ones"]
    log.write_text(kept + "\n")
    table = pd.DataFrame({"run": ["a", "b"], "fraction person": [1.0, 0.25], "notes": [None, None]})
    stats = pd.DataFrame(columns=["run", "reference run", "class", "metric", "replicates", "note"])
    text = findings(stats, table, read_warnings([log]))
    lines = text.splitlines()
    assert lines.index("## Warnings") < lines.index(next(line for line in lines if line.startswith("No pair of runs")))
    assert f"- `{log}`: {kept.removeprefix('warning: ')}" in lines
    assert "## Warnings" not in findings(stats, table)
