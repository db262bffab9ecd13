"""training: real RF-DETR Nano trainings from scratch - resume state, early stopping, a repeated dataset,
and the finished-training reuse by digest (settings, seed, both splits, classes, code)."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from detexp.data.dataset import prepare_dataset
from detexp.data.formats import read_project
from detexp.data.sampling import split_by_clip
from detexp.train.shared_training import FINISHED, TrainingPaths, link_identical, plan_trainings, reuse_finished
from detexp.content import file_sha256
from detexp.train.training import find_resume_checkpoint, identify, model_identity, train, train_kwargs
from detexp.train.training_digest import EQUIVALENT_CODE, LAST_TRAINING_CODE, _scheme1_digest
from projects import CLASSES, TINY_TRAINING, write_clip_project


def test_rfdetr_trains_on_a_repeated_dataset_and_sees_every_copy(tmp_path):
    """rfdetr's own COCO loader yields every entry (copies included); a real one-epoch training on it
    counts them in its images and its images seen."""
    from rfdetr.datasets.coco import CocoDetection

    write_clip_project(tmp_path / "proj", clips=6, per_clip=3)
    project = read_project(tmp_path / "proj", ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")
    splits = split_by_clip(project.frames, 0.2, 0.2, seed=1)
    prepare_dataset(project, splits, {"crane hook": 1.0, "person": 1.0}, 1, tmp_path / "data", oversample={"person": 3.0})
    ann = tmp_path / "data/train/_annotations.coco.json"
    entries = json.loads(ann.read_text())["images"]
    dataset = CocoDetection(tmp_path / "data/train", ann, transforms=None, remap_category_ids=True)
    assert len(dataset) == len(entries) > len({e["file_name"] for e in entries})
    repeated = [i for i, e in enumerate(entries) if entries[i - 1]["file_name"] == e["file_name"]][0]
    (image_a, target_a), (image_b, target_b) = dataset[repeated - 1], dataset[repeated]
    assert np.array_equal(np.asarray(image_a), np.asarray(image_b))  # the same picture...
    assert int(target_a["image_id"]) != int(target_b["image_id"])  # ...as two training images
    assert target_a["labels"].tolist() == target_b["labels"].tolist()

    training = {
        "model": "nano",
        "epochs": 1,
        "batch_size": 4,
        "lr": 1e-4,
        "image_size": 64,
        "patience": None,
        "pretrain_weights": None,
        "multi_scale": False,
        "num_workers": 0,
        "num_queries": 30,
        "group_detr": 1,
        "extra": {},
    }
    summary = train(
        tmp_path / "data", TrainingPaths.of_run(tmp_path / "run"), ["crane hook", "person"], training, seed=1, log=lambda m: None
    )
    assert summary["train_images"] == len(entries)
    assert summary["optimizer_steps"] == math.ceil(len(entries) / 4)  # one epoch, padded to whole batches
    assert summary["training_images_seen"] == 4 * math.ceil(len(entries) / 4)


def test_resume_prefers_the_newest_complete_checkpoint(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "settings.digest").write_text("abc\n")
    (state / "last.ckpt").write_bytes(b"PK\x03\x04 truncated")
    torch.save({"epoch": 4}, state / "resume.ckpt")
    torch.save({"epoch": 1}, state / "checkpoint_1.ckpt")
    messages: list[str] = []
    assert find_resume_checkpoint(state, "abc", messages.append) == (state / "resume.ckpt", 5)
    assert any("last.ckpt is truncated or unreadable" in m for m in messages)


def test_state_of_other_settings_is_cleared(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "settings.digest").write_text("old\n")
    torch.save({"epoch": 2}, state / "last.ckpt")
    assert find_resume_checkpoint(state, "new", lambda m: None) is None
    assert not state.exists()


@pytest.fixture(scope="module")
def early_stopped(tmp_path_factory):
    """A model from scratch at 64 px, whose validation mAP stays flat, trained with patience 1."""
    from detexp.data.dataset import prepare_dataset
    from detexp.data.formats import read_project
    from detexp.data.sampling import split_by_clip

    tmp_path = tmp_path_factory.mktemp("early")
    write_clip_project(tmp_path / "proj", clips=5, per_clip=3)
    project = read_project(tmp_path / "proj", CLASSES, r"^(?P<clip>.*?)[_-]?\d+$")
    prepare_dataset(
        project, split_by_clip(project.frames, 0.2, 0.2, seed=1), {"crane hook": 1.0, "person": 1.0}, 1, tmp_path / "data"
    )
    summary = train(tmp_path / "data", TrainingPaths.of_run(tmp_path / "run"), CLASSES, TINY_TRAINING, seed=1, log=lambda m: None)
    return tmp_path, summary


def test_early_stopping_ends_training_and_says_so(early_stopped):
    """training.patience: a model that stops improving on validation stops before its epochs run out,
    and the summary says so."""
    tmp_path, summary = early_stopped
    assert summary["early_stopped"] and summary["epochs_run"] < 8
    metrics = pd.read_csv(TrainingPaths.of_run(tmp_path / "run").metrics)
    assert metrics["epoch"].max() + 1 == summary["epochs_run"]


def test_a_finished_training_whose_outputs_were_deleted_is_linked_again_not_rerun(early_stopped):
    """What a failed SLURM job group leaves: Snakemake deleted the outputs of every job in it, a
    finished training's too. The next attempt links the kept copies again in seconds."""
    tmp_path, summary = early_stopped
    paths = TrainingPaths.of_run(tmp_path / "run")
    outputs = [paths.checkpoint, paths.metrics, paths.class_info, paths.summary]
    before = {path: path.read_bytes() for path in outputs}
    for path in outputs:
        path.unlink()
    messages: list[str] = []
    assert train(tmp_path / "data", paths, CLASSES, TINY_TRAINING, seed=1, log=messages.append) == summary
    assert any("a finished training with the same settings, data and code is there" in m for m in messages), messages
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)  # nothing was trained
    for path in outputs:
        assert path.read_bytes() == before[path], path
    for big in (paths.checkpoint, paths.metrics):  # links to the state folder's files, not second copies
        assert big.stat().st_ino == (paths.state_dir / big.name).stat().st_ino
    # other settings (or data, or code) never reuse it: their digest differs
    identity = identify(tmp_path / "data", CLASSES, TINY_TRAINING, 1, None)
    assert reuse_finished(paths, dataclasses.replace(identity, digest="another"), messages.append) is None


ONE_EPOCH = TINY_TRAINING | {"epochs": 1, "patience": None}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A study folder with one run trained for real: results/a (dataset and training)."""
    from detexp.data.dataset import prepare_dataset
    from detexp.data.formats import read_project
    from detexp.data.sampling import split_by_clip

    root = tmp_path_factory.mktemp("shared")
    write_clip_project(root / "proj", clips=5, per_clip=3)
    project = read_project(root / "proj", CLASSES, r"^(?P<clip>.*?)[_-]?\d+$")
    splits = split_by_clip(project.frames, 0.2, 0.2, seed=1)
    prepare_dataset(project, splits, {"crane hook": 1.0, "person": 1.0}, 1, root / "results/a/dataset")
    train(root / "results/a/dataset", TrainingPaths.of_run(root / "results/a"), CLASSES, ONE_EPOCH, seed=1, log=lambda m: None)
    return root


def copy_dataset(study: Path, run: str) -> Path:
    target = study / "results" / run / "dataset"
    shutil.copytree(study / "results/a/dataset", target)
    return target


def edit_annotations(dataset: Path, split: str, change) -> None:
    path = dataset / split / "_annotations.coco.json"
    coco = json.loads(path.read_text())
    change(coco)
    path.write_text(json.dumps(coco))


def digest_of(dataset: Path, classes=CLASSES, training=ONE_EPOCH, seed=1, weights=None) -> str:
    return identify(dataset, classes, training, seed, weights).digest


def test_the_digest_covers_settings_seed_both_splits_and_classes_but_not_the_place(study, tmp_path):
    dataset = study / "results/a/dataset"
    moved = tmp_path / "elsewhere"
    shutil.copytree(dataset, moved)
    assert digest_of(moved) == digest_of(dataset)  # the same inputs in another run's folder
    assert digest_of(dataset, seed=2) != digest_of(dataset)
    assert digest_of(dataset, training=ONE_EPOCH | {"lr": 2e-4}) != digest_of(dataset)
    assert digest_of(dataset, training=ONE_EPOCH | {"lr_encoder": 2e-4}) != digest_of(dataset)
    assert digest_of(dataset, training=ONE_EPOCH | {"lr_encoder": None}) == digest_of(dataset)  # unset: rfdetr's own
    assert digest_of(dataset, classes=list(reversed(CLASSES))) != digest_of(dataset)
    # the GPUs it trains on (the effective batch): one is what a training without the key always was
    assert digest_of(dataset, training=ONE_EPOCH | {"gpus": 1}) == digest_of(dataset)
    assert digest_of(dataset, training=ONE_EPOCH | {"gpus": 2}) != digest_of(dataset)
    # the model: its variant and architecture settings (the same rfdetr arguments build another model)
    assert digest_of(dataset, training=ONE_EPOCH | {"model": "small"}) != digest_of(dataset)
    assert digest_of(dataset, training=ONE_EPOCH | {"num_queries": 60}) != digest_of(dataset)
    assert digest_of(dataset, training=ONE_EPOCH | {"group_detr": 3}) != digest_of(dataset)
    edit_annotations(moved, "valid", lambda c: c["annotations"][0]["bbox"].__setitem__(0, 1.5))
    assert digest_of(moved) != digest_of(dataset)  # a fixed validation label
    test_changed = tmp_path / "test_changed"
    shutil.copytree(dataset, test_changed)
    edit_annotations(test_changed, "test", lambda c: c["annotations"][0]["bbox"].__setitem__(0, 1.5))
    assert digest_of(test_changed) == digest_of(dataset)  # the test split is not what a training reads


def _repixel(image: Path) -> None:
    """New pixels in place: the same name, size on disk may differ, the same labels."""
    pixels = cv2.imread(str(image))
    image.unlink()  # the dataset's file is a hard link to the project's: never write through it
    cv2.imwrite(str(image), 255 - pixels)


@pytest.mark.parametrize("split", ["train", "valid"])
def test_the_digest_covers_every_image_of_the_training_and_validation_splits_by_content(study, tmp_path, split):
    dataset = shutil.copytree(study / "results/a/dataset", tmp_path / "dataset")
    before = identify(dataset, CLASSES, ONE_EPOCH, 1, None)
    _repixel(sorted((dataset / split).glob("**/*.jpg"))[0])
    after = identify(dataset, CLASSES, ONE_EPOCH, 1, None)
    assert after.digest != before.digest
    assert [k for k in after.inputs if after.inputs[k] != before.inputs[k]] == [f"{split}_images"]
    test_image = sorted((dataset / "test").glob("**/*.jpg"))[0]
    _repixel(test_image)
    assert identify(dataset, CLASSES, ONE_EPOCH, 1, None).digest == after.digest  # the test split: never read


def test_the_digest_covers_the_starting_weights_by_content_not_by_path(study, tmp_path):
    dataset = study / "results/a/dataset"
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"weights one")
    first = digest_of(dataset, weights=weights)
    elsewhere = tmp_path / "other/w.pth"
    elsewhere.parent.mkdir()
    shutil.copy(weights, elsewhere)
    assert digest_of(dataset, weights=elsewhere) == first  # the same bytes under another path
    weights.write_bytes(b"weights two")  # the same path, new content
    assert digest_of(dataset, weights=weights) not in (first, digest_of(dataset))


def test_the_digest_covers_the_libraries_that_train(study, monkeypatch):
    import detexp.train.training_digest as training_digest

    dataset = study / "results/a/dataset"
    before = digest_of(dataset)
    real = training_digest.version
    for library in training_digest.SOFTWARE:
        monkeypatch.setattr(training_digest, "version", lambda name, lib=library: "0.0" if name == lib else real(name))
        assert digest_of(dataset) != before, library
    monkeypatch.setattr(training_digest, "version", lambda name: "0.0" if name == "pandas" else real(name))
    assert digest_of(dataset) == before  # a library the training does not run


def test_the_digest_covers_the_code_of_every_module_the_training_imports_but_not_its_layout(study, tmp_path, monkeypatch):
    """A behaviour change in any module train.py reaches (models.py, the class-weighted loss, a lazy
    import) retrains; a docstring, a comment or a function moved to another module does not."""
    import detexp.codeversion as codeversion
    from conftest import SCRIPTS

    dataset = study / "results/a/dataset"
    before = digest_of(dataset)

    def edited(module: str, change) -> str:
        scripts = tmp_path / f"scripts_{len(list(tmp_path.iterdir()))}"
        shutil.copytree(SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
        for name, edit in [(module, change)] if isinstance(module, str) else zip(module, change):
            path = scripts / "detexp" / name
            path.write_text(edit(path.read_text()))
        monkeypatch.setattr(codeversion, "SCRIPTS_DIR", scripts)
        return digest_of(dataset)

    assert edited("study/models.py", lambda t: t + "\nNEW_CONSTANT = 1\n") != before
    assert edited("train/weighted_loss.py", lambda t: t.replace("def ", "def _unused():\n    return 1\n\n\ndef ", 1)) != before
    assert edited("train/distributed.py", lambda t: t + "\n# a comment\n") == before
    assert edited("train/training.py", lambda t: t.replace('"""', '"""Edited. ', 1)) == before
    # architecture() moved from training.py to models.py: the same definitions, so the same training
    source = (SCRIPTS / "detexp/train/training.py").read_text()
    start = source.index("def architecture(")
    end = source.index("\n\n\n", start)
    function = source[start:end]
    moved = edited(
        ("train/training.py", "study/models.py"),
        (
            lambda t: t.replace(function, "").replace("from ..study.models import", "from ..study.models import architecture,"),
            lambda t: t + "\n\n" + function + "\n",
        ),
    )
    assert moved == before


def test_a_run_with_identical_inputs_links_the_finished_training_instead_of_training(study):
    dataset = copy_dataset(study, "b")
    paths = TrainingPaths.of_run(study / "results/b")
    messages: list[str] = []
    summary = train(dataset, paths, CLASSES, ONE_EPOCH, seed=1, log=messages.append, same_as="a")
    assert any(m.startswith("the same training inputs as run a ") for m in messages), messages
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)  # nothing was trained
    first = TrainingPaths.of_run(study / "results/a")
    assert paths.checkpoint.stat().st_ino == first.checkpoint.stat().st_ino  # one checkpoint on disk
    # a symbolic link into b's own state folder: Snakemake's touch of b's outputs leaves a's files alone
    assert paths.checkpoint.is_symlink() and paths.checkpoint.resolve().parent == paths.state_dir.resolve()
    assert summary["same_training_as"] == "a" and summary["linked_by_plan"] is True
    assert summary["training_digest"] == json.loads(first.summary.read_text())["training_digest"]
    assert json.loads(paths.summary.read_text()) == summary
    # the link is this run's own finished training from now on: deleted outputs are linked again
    paths.summary.unlink()
    messages.clear()
    assert train(dataset, paths, CLASSES, ONE_EPOCH, seed=1, log=messages.append, same_as="a") == summary
    assert any("a finished training with the same settings, data and code is there" in m for m in messages)


def test_an_identical_finished_training_is_found_without_a_plan(study):
    dataset = copy_dataset(study, "c")
    messages: list[str] = []
    summary = train(dataset, TrainingPaths.of_run(study / "results/c"), CLASSES, ONE_EPOCH, seed=1, log=messages.append)
    assert summary["same_training_as"] in ("a", "b") and summary["linked_by_plan"] is False
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)


def test_a_linked_run_links_where_snakemake_runs_and_never_trains_there(study):
    """link_training (the local job of a run whose settings foresee another run's training): the train
    job's own link, and where the other run holds no training of this run's digest, a refusal."""
    from detexp.train.linked_training import NotTheSameTraining, link_training

    paths = TrainingPaths.of_run(study / "results/e")
    messages: list[str] = []
    summary = link_training(copy_dataset(study, "e"), paths, CLASSES, ONE_EPOCH, 1, None, "a", messages.append)
    assert summary["same_training_as"] == "a" and summary["linked_by_plan"] is True
    assert paths.checkpoint.stat().st_ino == TrainingPaths.of_run(study / "results/a").checkpoint.stat().st_ino
    dataset = copy_dataset(study, "f")
    edit_annotations(dataset, "valid", lambda c: c["annotations"][0]["bbox"].__setitem__(1, 0.25))
    other = TrainingPaths.of_run(study / "results/f")
    with pytest.raises(NotTheSameTraining, match="run a holds no finished training of this run's digest"):
        link_training(dataset, other, CLASSES, ONE_EPOCH, 1, None, "a", messages.append)
    assert not any(m.startswith("rfdetr train() arguments") for m in messages) and not other.summary.exists()
    assert not any("this run trains" in m for m in messages)  # it does not: the refusal says what happens


def test_a_changed_validation_label_retrains(study):
    dataset = copy_dataset(study, "d")
    edit_annotations(dataset, "valid", lambda c: c["annotations"][0]["bbox"].__setitem__(1, 0.5))
    run = study / "results/d"
    shutil.copytree(study / "results/a/training", run / "training")  # a's finished training, in d's own folder
    messages: list[str] = []
    summary = train(dataset, TrainingPaths.of_run(run), CLASSES, ONE_EPOCH, seed=1, log=messages.append, same_as="a")
    assert any(m.startswith("rfdetr train() arguments") for m in messages), messages  # trained anew
    assert any("expected run a to hold this training finished, but it holds none of digest" in m for m in messages)
    assert summary["same_training_as"] is None and summary["training_digest"] == digest_of(dataset)
    assert summary["training_digest"] != digest_of(study / "results/a/dataset")


DEFAULT_ARCHITECTURE = {k: v for k, v in ONE_EPOCH.items() if k not in ("num_queries", "group_detr")}


def _earlier_digests(dataset: Path, state_dir: Path, training: dict) -> dict[str, set[str]]:
    kwargs = train_kwargs(str(dataset), str(state_dir), CLASSES, training, 1, "")
    model = model_identity(training)
    last = {_scheme1_digest(kwargs, model, None, dataset, code) for code in LAST_TRAINING_CODE}
    equivalent = {_scheme1_digest(kwargs, None, None, dataset, code) for code in EQUIVALENT_CODE}
    legacy = set(identify(dataset, CLASSES, training, 1, None, state_dir).legacy)
    return {
        "the last earlier scheme": last,
        "an equivalent earlier training.py": equivalent,
        "the first scheme": legacy - last - equivalent,
    }


def _finish_under(paths: TrainingPaths, digest: str, model: str) -> None:
    """The state folder as an earlier version left it: its digest, no inputs, no checkpoint sha256."""
    record = json.loads((paths.state_dir / FINISHED).read_text())
    record.pop("inputs", None)
    record["summary"].pop("checkpoint_sha256", None)
    record |= {"digest": digest, "class_info": record["class_info"] | {"model": model}}
    (paths.state_dir / FINISHED).write_text(json.dumps(record))
    paths.summary.unlink(missing_ok=True)


@pytest.mark.parametrize("earlier", ["the last earlier scheme", "an equivalent earlier training.py", "the first scheme"])
def test_a_training_finished_under_an_earlier_digest_is_migrated_once_for_its_own_model_only(study, tmp_path, earlier):
    """Earlier schemes did not cover images, weights' bytes or the imported code: a training finished
    under one is recognised (for the variant its record names), recorded under the current digest with
    its checkpoint's sha256, and is then this scheme's like any other."""
    run = tmp_path / "results/old"
    shutil.copytree(study / "results/a", run)
    paths = TrainingPaths.of_run(run)
    dataset = run / "dataset"
    digests = _earlier_digests(dataset, paths.state_dir, DEFAULT_ARCHITECTURE)
    assert all(len(d) == n for d, n in zip(digests.values(), (len(LAST_TRAINING_CODE), len(EQUIVALENT_CODE), 3)))
    # with an architecture setting, only the last scheme (which covered it) can be this training
    assert (
        set(identify(dataset, CLASSES, ONE_EPOCH, 1, None, paths.state_dir).legacy)
        == _earlier_digests(dataset, paths.state_dir, ONE_EPOCH)["the last earlier scheme"]
    )
    identity = identify(dataset, CLASSES, DEFAULT_ARCHITECTURE, 1, None, paths.state_dir)
    earlier_digest = sorted(digests[earlier])[0]

    _finish_under(paths, earlier_digest, "small")  # recorded as another variant's: not this training
    assert reuse_finished(paths, identity) is None
    assert link_identical(TrainingPaths.of_run(tmp_path / "results/new"), identity, "old") is None

    _finish_under(paths, earlier_digest, "nano")
    messages: list[str] = []
    summary = train(dataset, paths, CLASSES, DEFAULT_ARCHITECTURE, seed=1, log=messages.append)
    assert any("finished under an earlier digest scheme of the same training" in m for m in messages), messages
    assert not any(m.startswith("rfdetr train() arguments") for m in messages)
    record = json.loads((paths.state_dir / FINISHED).read_text())
    assert record["digest"] == identity.digest == summary["training_digest"] and record["inputs"] == identity.inputs
    assert summary["checkpoint_sha256"] == file_sha256(paths.state_dir / "checkpoint_best_total.pth")
    # migrated once: another run links it under the current digest now
    assert link_identical(TrainingPaths.of_run(tmp_path / "results/new"), identity, "old")["same_training_as"] == "old"


def test_a_changed_or_truncated_checkpoint_is_never_reused_and_the_run_trains_anew(study, tmp_path):
    run = tmp_path / "results/r"
    shutil.copytree(study / "results/a", run)
    paths = TrainingPaths.of_run(run)
    identity = identify(run / "dataset", CLASSES, ONE_EPOCH, 1, None, paths.state_dir)
    state_checkpoint = paths.state_dir / "checkpoint_best_total.pth"
    other = TrainingPaths.of_run(tmp_path / "results/other")
    # changed since it finished (another run's copied over it): not linked by another run, not reused
    state_checkpoint.write_bytes(state_checkpoint.read_bytes() + b"\0")
    messages: list[str] = []
    assert link_identical(other, identity, "r", messages.append) is None
    assert any("is not the checkpoint this training finished with" in m for m in messages), messages
    # an earlier scheme's record (no sha256 to compare) with a truncated checkpoint: loading it fails
    _finish_under(
        paths, sorted(_earlier_digests(run / "dataset", paths.state_dir, ONE_EPOCH)["the last earlier scheme"])[0], "nano"
    )
    state_checkpoint.write_bytes(state_checkpoint.read_bytes()[:1000])
    messages.clear()
    summary = train(run / "dataset", paths, CLASSES, ONE_EPOCH, seed=1, log=messages.append)
    assert any("is truncated or unreadable: it is never used again; this run trains anew" in m for m in messages), messages
    assert any(m.startswith("rfdetr train() arguments") for m in messages)
    assert summary["checkpoint_sha256"] == file_sha256(paths.checkpoint) and torch.load(paths.checkpoint, weights_only=False)


def test_the_plan_trains_each_digest_once_and_keeps_a_finished_training_where_it_is():
    digests = {"exp_a": "d1", "exp_b": "d1", "exp_c": "d2", "exp_d": "d1"}
    fresh = plan_trainings(digests, lambda run: None)
    assert {r: p["shares_training_of"] for r, p in fresh.items()} == {
        "exp_a": None,
        "exp_b": "exp_a",
        "exp_c": None,
        "exp_d": "exp_a",
    }
    # exp_b already holds d1 finished (e.g. exp_a was added to the study later): exp_b keeps training it
    later = plan_trainings(digests, {"exp_b": "d1"}.get)
    assert {r: p["shares_training_of"] for r, p in later.items()} == {
        "exp_a": "exp_b",
        "exp_b": None,
        "exp_c": None,
        "exp_d": "exp_b",
    }
    assert later["exp_d"]["digest"] == "d1"


def test_a_class_weighted_training_weights_rfdetrs_loss_and_records_the_weights(study):
    dataset = copy_dataset(study, "weighted")
    messages: list[str] = []
    weighted = ONE_EPOCH | {"class_loss_weights": {"method": "inverse_frequency", "power": 1.0}}
    summary = train(dataset, TrainingPaths.of_run(study / "results/weighted"), CLASSES, weighted, seed=1, log=messages.append)
    coco = json.loads((dataset / "train/_annotations.coco.json").read_text())
    name = {c["id"]: c["name"] for c in coco["categories"]}
    n = {c: sum(name[a["category_id"]] == c for a in coco["annotations"]) for c in CLASSES}
    assert n["crane hook"] != n["person"]  # the fixture's classes differ, so the weights do
    inverse = {c: 1 / n[c] for c in CLASSES}
    expected = {c: inverse[c] * 2 / sum(inverse.values()) for c in CLASSES}  # n^-1, scaled to sum to 2
    assert summary["class_loss_weights"] == pytest.approx(expected)
    ran = [m for m in messages if m.startswith("class-weighted classification loss: ")]
    assert ran and int(ran[0].split()[3]) > 0 and ran[0].endswith("checked against rfdetr's own"), messages
    unweighted = json.loads(TrainingPaths.of_run(study / "results/a").summary.read_text())
    assert summary["training_digest"] != unweighted["training_digest"]  # never the unweighted training's


def test_a_matched_remedy_trains_the_epochs_closest_to_its_baselines_images_seen(tmp_path):
    from detexp.train.training import matched_images_seen

    def training_set(name: str, entries: int) -> Path:
        (tmp_path / name / "train").mkdir(parents=True)
        coco = {"images": [{"id": i} for i in range(entries)], "annotations": [], "categories": []}
        (tmp_path / name / "train/_annotations.coco.json").write_text(json.dumps(coco))
        return tmp_path / name

    baseline, remedy = training_set("base", 22), training_set("remedy", 56)
    match = {"baseline": "base", "baseline_epochs": 10, "baseline_dataset_dir": str(baseline)}
    training = {"epochs": 10, "batch_size": 4, "extra": {}, "match_images_seen": match}
    # baseline: 10 x ceil(22 / 4) x 4 = 240 images; the remedy's epoch: ceil(56 / 4) x 4 = 56 images;
    # 4 epochs (224, 16 off) beat 5 (280, 40 off)
    assert matched_images_seen(remedy, training) == {
        "epochs": 4,
        "baseline": "base",
        "baseline_images_seen": 240,
        "images_seen": 224,
    }
    # gradient accumulation enlarges the batch: 4 x 2 = 8, and rfdetr's minimum of 5 of them an epoch:
    # the baseline's 22 entries show 40, 400 in 10; the remedy 56 an epoch: 7 (392, 8 off) beat 8 (448)
    accumulated = training | {"batch_size": 4, "extra": {"grad_accum_steps": 2}}
    assert matched_images_seen(remedy, accumulated)["epochs"] == 7
    # rfdetr's minimum of 5 effective batches an epoch: a baseline of 14 entries shows 20 (not 16) an
    # epoch, 200 in 10; the remedy's 56 an epoch: 4 epochs (224, 24 off) beat 3 (168, 32 off)
    small = training_set("small", 14)
    assert (
        matched_images_seen(remedy, training | {"match_images_seen": match | {"baseline_dataset_dir": str(small)}})["epochs"] == 4
    )
    # the remedy on 2 GPUs: 56 entries over 2 processes of 4: 56 an epoch, as on one; a baseline
    # trained on 2 GPUs: its 22 entries are repeated to 5 x 4 x 2 = 40 an epoch, 400 in 10: 7 epochs
    # (392, 8 off) beat 8 (448, 48 off)
    two = training | {"gpus": 2, "match_images_seen": match | {"baseline_gpus": 2}}
    assert matched_images_seen(remedy, two) == {"epochs": 7, "baseline": "base", "baseline_images_seen": 400, "images_seen": 392}
    # a remedy whose epoch alone exceeds its baseline's images seen still trains one epoch
    assert matched_images_seen(remedy, training | {"match_images_seen": match | {"baseline_epochs": 1}})["epochs"] == 1
    assert matched_images_seen(remedy, {"epochs": 10, "batch_size": 4}) == {"epochs": 10}  # unmatched: as set
    assert train_kwargs(str(remedy), "", CLASSES, ONE_EPOCH | {"match_images_seen": match}, 1, "")["epochs"] == 4


def test_images_seen_count_every_process_and_rfdetrs_minimum():
    from detexp.train.training import summarize_training

    metrics = [{"epoch": e, "val/mAP_50_95": 0.1 * e} for e in range(3)]
    # 30 entries, batch 4, 2 processes: repeated to 5 x 4 x 2 = 40 an epoch, 120 in 3; a step takes 8
    two = summarize_training(metrics, 3, 10.0, "cpu", images=30, effective_batch=4, world_size=2)
    assert (two["gpus"], two["effective_batch"], two["training_images_seen"], two["optimizer_steps"]) == (2, 8, 120, 15)
    # one process: 30 entries padded to 32 an epoch
    one = summarize_training(metrics, 3, 10.0, "cpu", images=30, effective_batch=4)
    assert (one["gpus"], one["effective_batch"], one["training_images_seen"], one["optimizer_steps"]) == (1, 4, 96, 24)


def test_two_runs_never_name_each_other_as_the_holder_of_their_shared_training(tmp_path):
    """A linked run's owner removed and made again by linking the twin's copy: the twin holds the
    training now (same_training_as None), whichever of the two jobs runs first."""
    from detexp import layout
    from detexp.train.shared_training import _current_link

    def finished(run: str, same_as: str | None) -> None:
        state = tmp_path / run / layout.TRAINING_STATE_DIR
        state.mkdir(parents=True)
        for name in ("checkpoint_best_total.pth", "metrics.csv"):
            (state / name).write_text("x")
        (state / FINISHED).write_text(json.dumps({"digest": "d", "summary": {"same_training_as": same_as}}))

    finished("owner", "twin")  # made again from the twin's copy
    finished("twin", "owner")  # the twin's record still names the old owner
    finished("third", None)
    assert _current_link(tmp_path, "owner", "d", this_run="twin") is None
    assert _current_link(tmp_path, "third", "d", this_run="twin") == "third"  # a real holder is still named
    assert _current_link(tmp_path, "third", "other digest", this_run="twin") is None  # retrained since
