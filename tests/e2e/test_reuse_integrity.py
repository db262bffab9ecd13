"""A reused result is a claim that its inputs are the same: on copies of the finished demo study, every
way a rerun could hand back a model or a result made from other inputs is tried, and each must train,
evaluate or infer anew (or refuse, saying how to recover)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import pandas as pd

from conftest import DEMO_RUN as RUN
from conftest import copy_run, job_counts, snakemake


def _summary(run: Path, rid: str) -> dict:
    return json.loads((run / f"results/{rid}/training/training_summary.json").read_text())


def _trained(run: Path, rid: str) -> bool:
    return "rfdetr train() arguments" in (run / f"logs/train/{rid}.log").read_text()


def _nothing_to_do(run: Path) -> None:
    out = snakemake(run, "-n", *RUN).stdout
    assert job_counts(out) == {} and "Nothing to be done" in out, out[-3000:]


def test_a_linked_run_whose_owner_is_gone_or_whose_data_changed_never_keeps_the_old_training(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    experiments = run / "config/experiments"
    twin = experiments / "exp_person_50b.yaml"
    twin.write_text((experiments / "exp_person_50.yaml").read_text().replace("name: exp_person_50", "name: exp_person_50b"))
    snakemake(run, *RUN, "--cores", "2")
    assert _summary(run, "exp_person_50b")["same_training_as"] == "exp_person_50" and not _trained(run, "exp_person_50b")

    # the owner's folder removed: its run links the twin's training (no cycle, nothing trained) - in a
    # local job, its settings foreseeing the twin's training; the twin's train job only finds it holds
    # the training now. The trainings targeted (what follows them, evaluation to findings, is checked
    # at the end)
    trainings = (
        "--",
        "results/exp_person_50/training/training_summary.json",
        "results/exp_person_50b/training/training_summary.json",
    )
    shutil.rmtree(run / "results/exp_person_50")
    counts = job_counts(snakemake(run, "-n", *RUN).stdout)
    assert counts.get("prepare_dataset") == 1 and counts.get("train") == 1 and counts.get("link_training") == 1, counts
    snakemake(run, *RUN, "--cores", "2", *trainings)
    assert not _trained(run, "exp_person_50") and _summary(run, "exp_person_50")["same_training_as"] == "exp_person_50b"
    assert _summary(run, "exp_person_50b")["same_training_as"] is None  # it holds the training now
    assert job_counts(snakemake(run, "-n", *RUN, *trainings).stdout) == {}

    # the recovery the refusal messages give, for a linked run: its training folder deleted, it links again
    shutil.rmtree(run / "results/exp_person_50/training")
    snakemake(run, *RUN, "--cores", "2", *trainings)
    assert not _trained(run, "exp_person_50") and _summary(run, "exp_person_50")["same_training_as"] == "exp_person_50b"

    # the owner's experiment removed and the twin changed: the twin trains on its new data
    (experiments / "exp_person_50.yaml").unlink()
    shutil.rmtree(run / "results/exp_person_50")
    twin.write_text(twin.read_text().replace("person: 0.5", "person: 0.4"))
    counts = job_counts(snakemake(run, "-n", *RUN).stdout)
    assert counts.get("prepare_dataset") == 1 and counts.get("train") == 1, counts
    snakemake(run, *RUN, "--cores", "2")
    log = (run / "logs/train/exp_person_50b.log").read_text()
    assert "holds a finished training of other inputs (differing: train_annotations, train_images)" in log
    assert _trained(run, "exp_person_50b")
    summary = _summary(run, "exp_person_50b")
    train_split = json.loads((run / "results/exp_person_50b/dataset/train/_annotations.coco.json").read_text())
    assert summary["same_training_as"] is None and summary["train_images"] == len(train_split["images"])
    notes = pd.read_csv(run / "results/comparison.csv").set_index("run")["notes"]
    assert "same training" not in str(notes.get("exp_person_50b"))
    _nothing_to_do(run)


def test_a_changed_checkpoint_is_refused_with_the_way_back_and_records_are_never_read_torn(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    checkpoint = run / "results/exp_person_100/training/checkpoint_best_total.pth"
    other = run / "results/exp_person_25/training/checkpoint_best_total.pth"
    with open(checkpoint, "wb") as f:  # overwritten in place by another run's (as `cp` does)
        f.write(other.read_bytes())
    failed = snakemake(run, *RUN, "--cores", "2", check=False)
    assert failed.returncode != 0
    assert "CheckpointChangedError" in failed.stdout and "is not the checkpoint its training finished with" in failed.stdout
    assert "results/exp_person_100/training/training_summary.json records sha256" in failed.stdout
    assert "Delete results/exp_person_100/training/ and rerun" in failed.stdout

    # what a killed job of an older version could leave: a torn plan, half-written reuse records
    (run / "results/training_plan.json").write_text('{"exp_person_100": {"dig')
    partial = run / "results/exp_person_100/evaluation/.made_from/.partial.12345.metrics.json"
    partial.mkdir(parents=True)
    (run / "results/exp_person_25/training/training_summary.json").unlink()  # its train job consults the plan
    shutil.rmtree(run / "results/exp_person_100/training")
    out = snakemake(run, *RUN, "--cores", "2").stdout
    assert "results/training_plan.json is not valid JSON (a write cut short): it is made again" in out
    assert json.loads((run / "results/training_plan.json").read_text())["exp_person_100"]["shares_training_of"] is None
    assert _trained(run, "exp_person_100") and not _trained(run, "exp_person_25")
    assert not partial.exists()
    metrics = json.loads((run / "results/exp_person_100/evaluation/metrics.json").read_text())
    record = json.loads(next((run / "results/exp_person_100/evaluation/.made_from").glob("*/inputs.json")).read_text())
    assert {"faster-coco-eval", "opencv", "av", "torch", "rfdetr"} <= set(record["made_from"]["settings"])
    assert record["made_from"]["files"][0][1] == _summary(run, "exp_person_100")["checkpoint_sha256"]
    assert metrics["mAP_50_95"] is not None
    _nothing_to_do(run)


def test_images_changed_in_place_retrain_and_a_restored_video_is_inferred_again(demo_run, tmp_path):
    run = copy_run(demo_run, tmp_path / "run")
    # new pixels under the same name in the project (the datasets' hard links see them): a run whose
    # training split holds the frame trains anew when its job runs, here by --forcerun as the issue saw
    # (one run's training targeted: every run's digest is computed the same way)
    train_split = json.loads((run / "results/exp_person_25/dataset/train/_annotations.coco.json").read_text())
    image = run / "results/exp_person_25/dataset/train" / train_split["images"][0]["file_name"]
    assert os.stat(image).st_nlink > 1
    pixels = cv2.imread(str(image))
    cv2.imwrite(str(image), 255 - pixels)  # in place: the same inode as the project's frame
    snakemake(run, *RUN, "--cores", "2", "--forcerun", "train", "--", "results/exp_person_25/training/training_summary.json")
    assert _trained(run, "exp_person_25")
    assert (
        "holds a finished training of other inputs (differing: train_images)"
        in (run / "logs/train/exp_person_25.log").read_text()
    )

    # a video replaced, then the original restored with its older time: its detections follow it back
    video = run / "resources/demo_project/videos/crane_hook_1_short.mp4"
    original, stat = video.read_bytes(), video.stat()
    target = "results/exp_person_100/inference/crane_hook_1_short_detections.json"
    before = json.loads((run / target).read_text())
    shutil.copyfile(run / "resources/demo_project/videos/crane_hook+human_short.mp4", video)
    snakemake(run, *RUN, "--cores", "2", "--", target)
    replaced = json.loads((run / target).read_text())
    video.write_bytes(original)
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # older than the detections of the other video
    counts = job_counts(snakemake(run, "-n", *RUN, "--", target).stdout)
    assert counts == {"infer": 1}, counts
    snakemake(run, *RUN, "--cores", "2", "--", target)
    restored = json.loads((run / target).read_text())
    assert replaced["frames"] != before["frames"] and restored["frames"] == before["frames"]
