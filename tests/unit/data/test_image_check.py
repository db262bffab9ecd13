"""Unreadable images: found once by content, dropped with their boxes and counted, or refused."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import SCRIPTS
from detexp.data import image_check
from detexp.data.dataset import prepare_dataset
from detexp.data.formats import bad_image_warning, drop_bad_images, read_project
from detexp.data.image_check import ImageChecks, image_problem
from detexp.job_warnings import kind_of
from detexp.data.sources import DatasetError
from projects import CLASSES, CLIP_REGEX, labelimg_voc, write_image

NAMES = tuple(f"{i:05d}.jpg" for i in range(1, 11))


def _cut_short(path) -> None:
    """The last bytes gone, the end marker with them (an export that stopped early)."""
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"\xff\xd9")])


def test_a_jpeg_cut_short_or_undecodable_is_found_and_a_trailer_after_the_end_is_not(tmp_path):
    good = write_image(tmp_path / "good.jpg")
    assert image_problem(good) is None
    trailer = tmp_path / "trailer.jpg"
    trailer.write_bytes(good.read_bytes() + b"maker notes after the end marker")
    assert image_problem(trailer) is None
    cut = write_image(tmp_path / "cut.jpg")
    _cut_short(cut)
    assert image_problem(cut) == "truncated: a JPEG without its end marker"
    half = write_image(tmp_path / "half.png")
    half.write_bytes(half.read_bytes()[:60])
    assert image_problem(half).startswith("cannot be decoded")
    (tmp_path / "text.jpg").write_text("not an image")
    assert image_problem(tmp_path / "text.jpg").startswith("cannot be decoded")


def test_verdicts_are_cached_by_content(tmp_path, monkeypatch):
    images = [write_image(tmp_path / f"{i}.jpg") for i in range(3)]
    _cut_short(images[1])
    results = tmp_path / "results"
    assert ImageChecks(results).problems(images) == {str(images[1]): "truncated: a JPEG without its end marker"}
    assert (results / image_check.CACHE_FILE).is_file()
    monkeypatch.setattr(image_check, "image_problem", lambda path: pytest.fail(f"{path} decoded again"))
    assert list(ImageChecks(results).problems(images)) == [str(images[1])]
    # new content under the same name is looked at anew
    monkeypatch.undo()
    write_image(images[1])
    assert ImageChecks(results).problems(images) == {}


def test_a_labelimg_project_with_a_truncated_jpeg_drops_it_counts_it_and_names_it(tmp_path):
    project_dir = tmp_path / "kangaroo"
    labelimg_voc(project_dir, "annots", "images", NAMES)
    _cut_short(project_dir / "images/00009.jpg")
    project = read_project(project_dir, CLASSES, CLIP_REGEX)
    drop_bad_images(project, "drop", tmp_path / "results")
    assert project.bad_images == ["images/00009.jpg: truncated: a JPEG without its end marker"]
    assert "images/00009.jpg" not in {f.file_name for f in project.frames} and len(project.frames) == 9
    warning = bad_image_warning(project)
    assert warning.startswith("warning: 1 image(s) that cannot be read whole dropped with their boxes, e.g. images/00009.jpg")
    assert kind_of(warning.removeprefix("warning: ")) == "images that cannot be read"
    stats = prepare_dataset(
        project,
        {"train": [f.file_name for f in project.frames], "valid": [], "test": []},
        {c: 1.0 for c in CLASSES},
        0,
        tmp_path / "out",
    )
    assert stats["dropped_bad_images"] == 1 and stats["bad_images"] == project.bad_images
    refused = read_project(project_dir, CLASSES, CLIP_REGEX)
    with pytest.raises(DatasetError, match=r"bad_images: refuse.*\n  .*images/00009\.jpg: truncated"):
        drop_bad_images(refused, "refuse")


def test_the_split_job_drops_the_truncated_photo_and_says_so_or_refuses_it(tmp_path):
    """From the command line, as the workflow's job runs it."""
    project_dir = tmp_path / "kangaroo"
    labelimg_voc(project_dir, "annots", "images", NAMES)
    _cut_short(project_dir / "images/00003.jpg")
    command = [sys.executable, str(SCRIPTS / "split_dataset.py"), "--independent-frames", "--results", str(tmp_path / "results")]
    command += [arg for c in CLASSES for arg in ("--class", c)]
    outputs = [str(project_dir), str(tmp_path / "splits.json"), str(tmp_path / "splits.html")]
    done = subprocess.run(command + outputs, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    splits = json.loads((tmp_path / "splits.json").read_text())
    assert sorted(splits["train"] + splits["valid"] + splits["test"]) == [f"images/{n}" for n in NAMES if n != "00003.jpg"]
    assert (
        "warning: 1 image(s) that cannot be read whole dropped with their boxes, e.g. images/00003.jpg: truncated" in done.stdout
    )
    (tmp_path / "splits.json").unlink()
    refused = subprocess.run(command + ["--bad-images", "refuse"] + outputs, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and not (tmp_path / "splits.json").exists()
    assert (
        "bad_images: refuse" in refused.stderr and "images/00003.jpg: truncated: a JPEG without its end marker" in refused.stderr
    )
