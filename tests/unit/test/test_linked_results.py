"""linked_results: a linked run's evaluation and inference reused from the run whose training it holds,
only when the checkpoints, the test split and the source's record agree by content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detexp.content import ContentHashes
from detexp.test.inference import InferenceSettings
from detexp.test.linked_results import (
    REUSED_FROM,
    NotTheSameInputs,
    evaluation_settings,
    inference_settings,
    link_evaluation,
    link_inference,
)
from detexp.test.logit_adjustment import LogitAdjustment
from detexp.test.reuse import made_from, remember

# What evaluate records beside these: the device and the libraries' versions (detexp.test.reuse.environment).
EVALUATED_WITH = {**evaluation_settings(8, 0.5), "device": "cuda", "torch": "2.14.1"}


def _run(root: Path, run: str, weights: bytes, image: bytes = b"jpeg") -> dict[str, Path]:
    """A run's checkpoint and test split (one image), as copies: nothing shared by a link."""
    folder = root / run
    (folder / "dataset/test").mkdir(parents=True)
    (folder / "training").mkdir()
    checkpoint = folder / "training/checkpoint.pth"
    checkpoint.write_bytes(weights)
    (folder / "dataset/test/0.jpg").write_bytes(image)
    annotations = folder / "dataset/test/_annotations.coco.json"
    annotations.write_text(json.dumps({"images": [{"id": 0, "file_name": "0.jpg"}]}))
    return {"checkpoint": checkpoint, "annotations": annotations, "folder": folder}


def _evaluated(run: dict[str, Path]) -> dict[str, Path]:
    """The run's evaluation outputs, with their record (as evaluate writes them)."""
    outputs = {name: run["folder"] / f"evaluation/{name}" for name in ("metrics", "predictions", "confusion_matrix")}
    outputs["metrics"].parent.mkdir()
    outputs["metrics"].write_text(json.dumps({"mAP_50_95": 0.5, "checkpoint": str(run["checkpoint"])}))
    outputs["predictions"].write_text("[]")
    outputs["confusion_matrix"].write_bytes(b"png")
    files = [run["checkpoint"], run["annotations"], run["annotations"].parent / "0.jpg"]
    remember(outputs, made_from(files, EVALUATED_WITH, "code"))
    return outputs


def _link(
    tmp_path: Path,
    own: dict[str, Path],
    source: dict[str, Path],
    source_outputs: dict[str, Path],
    settings: dict | None = None,
) -> tuple[dict[str, Path], list[str]]:
    outputs = {name: own["folder"] / f"evaluation/{name}" for name in source_outputs}
    outputs["metrics"].parent.mkdir(exist_ok=True)
    logged: list[str] = []
    link_evaluation(
        "b",
        "a",
        own["checkpoint"],
        own["annotations"],
        source["checkpoint"],
        source["annotations"],
        source_outputs,
        outputs,
        evaluation_settings(8, 0.5) if settings is None else settings,
        ContentHashes(tmp_path / "cache.json"),
        logged.append,
    )
    return outputs, logged


def test_the_same_checkpoint_and_test_split_reuse_the_evaluation_naming_both_runs(tmp_path):
    a, b = _run(tmp_path, "a", b"weights"), _run(tmp_path, "b", b"weights")
    outputs, logged = _link(tmp_path, b, a, _evaluated(a))
    metrics = json.loads(outputs["metrics"].read_text())
    assert metrics["mAP_50_95"] == 0.5 and metrics[REUSED_FROM] == "a"
    assert metrics["checkpoint"] == str(b["checkpoint"]) and metrics["test_annotations"] == str(b["annotations"])
    assert outputs["predictions"].read_text() == "[]" and outputs["confusion_matrix"].read_bytes() == b"png"
    assert "its evaluation is a's" in logged[0] and "1 images" in logged[0]


@pytest.mark.parametrize("what", ["checkpoint", "image"])
def test_other_content_is_refused_naming_the_files_and_nothing_is_written(tmp_path, what):
    a = _run(tmp_path, "a", b"weights")
    b = _run(tmp_path, "b", b"other weights" if what == "checkpoint" else b"weights", b"other" if what == "image" else b"jpeg")
    with pytest.raises(NotTheSameInputs, match=r"run b was to reuse run a's evaluation.*inputs differ in content: .*b/") as err:
        _link(tmp_path, b, a, _evaluated(a))
    assert ("checkpoint.pth" if what == "checkpoint" else "0.jpg") in str(err.value)
    assert not (b["folder"] / "evaluation/metrics").exists()


def test_a_source_result_whose_record_names_other_content_is_refused(tmp_path):
    a, b = _run(tmp_path, "a", b"weights"), _run(tmp_path, "b", b"new weights")
    outputs = _evaluated(a)
    # a's checkpoint replaced after its evaluation, and b's holds the same new bytes
    a["checkpoint"].write_bytes(b"new weights")
    with pytest.raises(NotTheSameInputs, match="was not made from the files it has now"):
        _link(tmp_path, b, a, outputs)


@pytest.mark.parametrize("settings", [evaluation_settings(16, 0.5), evaluation_settings(8, 0.75)])
def test_a_source_result_made_with_other_settings_is_refused_naming_them(tmp_path, settings):
    a, b = _run(tmp_path, "a", b"weights"), _run(tmp_path, "b", b"weights")
    other = next(
        f"{key} {EVALUATED_WITH[key]!r} there, {value!r} here" for key, value in settings.items() if EVALUATED_WITH[key] != value
    )
    with pytest.raises(NotTheSameInputs, match=r"run b was to reuse run a's evaluation .*made with other settings") as err:
        _link(tmp_path, b, a, _evaluated(a), settings)
    assert other in str(err.value)
    assert not (b["folder"] / "evaluation/metrics").exists()


INFERRED_WITH = InferenceSettings(0.3, 8, 1, None, "auto")
ADJUSTED = LogitAdjustment(1.0, {"person": 0.25, "crane hook": 0.75})


def test_the_same_checkpoint_reuses_the_inference_naming_both_runs(tmp_path):
    a, b = _run(tmp_path, "a", b"weights"), _run(tmp_path, "b", b"weights")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"mp4")
    source = {"video": a["folder"] / "clip.mp4", "detections": a["folder"] / "clip.json"}
    source["video"].write_bytes(b"drawn")
    source["detections"].write_text(
        json.dumps({"model": {"checkpoint": str(a["checkpoint"]), "device": "cuda"}, "totals": {"person": 3}})
    )
    remember(
        source, made_from([a["checkpoint"], video], {**inference_settings(INFERRED_WITH, ADJUSTED), "device": "cuda"}, "code")
    )
    outputs = {"video": b["folder"] / "clip.mp4", "detections": b["folder"] / "clip.json"}
    logged: list[str] = []
    settings = inference_settings(INFERRED_WITH, ADJUSTED)
    link_inference("b", "a", b["checkpoint"], video, a["checkpoint"], source, outputs, settings, ContentHashes(), logged.append)
    detections = json.loads(outputs["detections"].read_text())
    assert detections["model"] == {"checkpoint": str(b["checkpoint"]), "device": "cuda", REUSED_FROM: "a"}
    assert detections["totals"] == {"person": 3} and outputs["video"].read_bytes() == b"drawn"
    # other priors (the logit adjustment), then another threshold: refused by the record's settings
    for other in (
        inference_settings(INFERRED_WITH, LogitAdjustment(1.0, {"person": 0.5, "crane hook": 0.5})),
        inference_settings(InferenceSettings(0.5, 8, 1, None, "auto"), ADJUSTED),
    ):
        with pytest.raises(NotTheSameInputs, match="inference .*made with other settings"):
            link_inference(
                "b", "a", b["checkpoint"], video, a["checkpoint"], source, outputs, other, ContentHashes(), logged.append
            )
    b["checkpoint"].write_bytes(b"other")
    with pytest.raises(NotTheSameInputs, match="inference"):
        link_inference(
            "b", "a", b["checkpoint"], video, a["checkpoint"], source, outputs, settings, ContentHashes(), logged.append
        )
