"""A user's files are data, not instructions: bad annotations, paths and config values fail early,
named, through real Snakemake jobs and dry runs, and nothing outside the results is changed."""

from __future__ import annotations
import json
import os
import shutil
from pathlib import Path
import pytest
from conftest import DEMO, job_counts, snakemake
from projects import coco_project, shaded_image, snapshot, write_coco, yolo_project


STATS = "results/exp_person_100/dataset_stats.json"


ONE_EXPERIMENT = ("experiments=[exp_person_100]", "test_videos=[]")


def prepare(workflow: Path, project: Path, *extra: str, check: bool = True):
    return snakemake(
        workflow, "--cores", "1", "--config", f"project_dir={project}", *ONE_EXPERIMENT, *extra, "--", STATS, check=check
    )


def test_absolute_file_names_are_read_in_place_and_never_touched(workflow_copy, tmp_path):
    """The data-loss case: absolute file_names (inside and outside the project, and as ../../<absolute>)."""
    project, elsewhere = tmp_path / "proj", tmp_path / "elsewhere"
    coco = coco_project(project)
    for i, img in enumerate(coco["images"]):
        if i % 3 == 0:  # moved out of the project, named by absolute path
            target = elsewhere / Path(img["file_name"]).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(project / img["file_name"], target)
            img["file_name"] = str(target)
        elif i % 3 == 1:  # absolute path inside the project
            img["file_name"] = str(project / img["file_name"])
        else:  # many ../ then the absolute path: lands on the same file inside the project
            img["file_name"] = "../" * 12 + str(project / img["file_name"]).lstrip("/")
    write_coco(project, coco)
    before = snapshot(project, elsewhere)

    prepare(workflow_copy, project)

    assert snapshot(project, elsewhere) == before  # every source byte-identical, no file replaced
    dataset = workflow_copy / "results/exp_person_100/dataset"
    names = [
        img["file_name"]
        for s in ("train", "valid", "test")
        for img in json.loads((dataset / s / "_annotations.coco.json").read_text())["images"]
    ]
    assert len(names) == len(coco["images"])
    assert all(not n.startswith("/") and ".." not in Path(n).parts for n in names)
    assert sum(n.startswith("_external/") for n in names) == 8  # the images outside the project
    for split in ("train", "valid", "test"):
        for path in (dataset / split).rglob("*.jpg"):
            assert path.resolve().is_relative_to(dataset.resolve()) and not path.is_symlink()
    stats = json.loads((workflow_copy / STATS).read_text())
    assert stats["dropped_annotations_by_category"] == {"truck": 8}  # listed, not silently gone
    assert stats["dropped_annotations"] == 8 and stats["clipped_boxes"] == 0


def _escape(coco: dict, tmp_path: Path) -> str:
    outside = tmp_path / "b" / "outside"
    shaded_image(outside / "x.jpg", 200)
    coco["images"][4]["file_name"] = "../../b/outside/x.jpg"
    return "image id 5: file_name '../../b/outside/x.jpg' resolves to"


def _escape_absolute_via_dots(coco: dict, tmp_path: Path) -> str:
    outside = tmp_path / "b" / "outside"
    shaded_image(outside / "y.jpg", 200)
    coco["images"][2]["file_name"] = "../" * 12 + str(outside / "y.jpg").lstrip("/")
    return "outside the images folder"


def _duplicate_image_id(coco: dict, tmp_path: Path) -> str:
    coco["images"][3]["id"] = coco["images"][2]["id"]
    return "images: id 3 is used by 2 entries - ids must be unique"


def _duplicate_file_name(coco: dict, tmp_path: Path) -> str:
    coco["images"][3]["file_name"] = coco["images"][2]["file_name"]
    return "images: file_name 'images/clip0_2.jpg' appears in 2 entries (ids 3, 4)"


def _unknown_category(coco: dict, tmp_path: Path) -> str:
    coco["annotations"][0]["category_id"] = 9
    return "annotations[0] (id 1): category_id 9 is not a category of this file"


def _undefined_image(coco: dict, tmp_path: Path) -> str:
    coco["annotations"][1]["image_id"] = 999
    return "annotations[1] (id 2): image_id 999 is not the id of any image in this file"


def _negative_width(coco: dict, tmp_path: Path) -> str:
    coco["annotations"][0]["bbox"] = [5, 5, -4, 6]
    return "annotations[0] (id 1): bbox [5.0, 5.0, -4.0, 6.0] has a width or height < 0"


def _nan_box(coco: dict, tmp_path: Path) -> str:
    coco["annotations"][0]["bbox"] = [5, 5, float("nan"), 6]
    return "annotations[0] (id 1): bbox [5.0, 5.0, nan, 6.0] holds a number that is not finite"


def _three_numbers(coco: dict, tmp_path: Path) -> str:
    coco["annotations"][2]["bbox"] = [1, 2, 3]
    return "annotations[2] (id 3): bbox: [1, 2, 3] is too short"


def _no_width(coco: dict, tmp_path: Path) -> str:
    del coco["images"][0]["width"]
    return "images[0] (id 1, 'images/clip0_0.jpg'): 'width' is a required property"


def _box_outside_image(coco: dict, tmp_path: Path) -> str:
    coco["annotations"][0]["bbox"] = [40, 2, 5, 5]  # the image is 32 wide
    return "annotation id 1 (image 'images/clip0_0.jpg', 32x24): box [40.0, 2.0, 5.0, 5.0] (x, y, width, height) lies entirely outside"


@pytest.mark.parametrize(
    "corrupt",
    [
        _escape,
        _escape_absolute_via_dots,
        _duplicate_image_id,
        _duplicate_file_name,
        _unknown_category,
        _undefined_image,
        _negative_width,
        _nan_box,
        _three_numbers,
        _no_width,
        _box_outside_image,
    ],
)
def test_a_bad_coco_file_fails_before_any_job_naming_file_entry_and_value(workflow_copy, tmp_path, corrupt):
    project = tmp_path / "a" / "proj"  # two levels down, so that ../../b/ lies outside it, beside
    coco = coco_project(project)
    message = corrupt(coco, tmp_path)
    write_coco(project, coco)
    before = snapshot(tmp_path / "a", tmp_path / "b")
    proc = prepare(workflow_copy, project, check=False)
    assert proc.returncode != 0
    assert "project_dir: " in proc.stdout and "Error in rule" not in proc.stdout  # said when the DAG is built
    assert str(project / "_annotations.coco.json") in proc.stdout
    assert message in proc.stdout
    assert snapshot(tmp_path / "a", tmp_path / "b") == before  # nothing of the project (or beside it) changed
    assert not (workflow_copy / "results/splits.json").exists()


def test_a_latin1_coco_file_is_named_as_not_utf8(workflow_copy, tmp_path):
    project = tmp_path / "proj"
    coco = coco_project(project)
    coco["categories"][2]["name"] = "grue à tour"
    (project / "_annotations.coco.json").write_bytes(json.dumps(coco, ensure_ascii=False).encode("latin-1"))
    proc = prepare(workflow_copy, project, check=False)
    assert proc.returncode != 0
    assert f"{project}/_annotations.coco.json: annotation file is not UTF-8 text (byte 0xe0 at line 1" in proc.stdout
    assert "save it as UTF-8" in proc.stdout


@pytest.mark.parametrize(
    "label, message",
    [
        ("2 0.5 0.5 0.2 0.2", "line 2: '2 0.5 0.5 0.2 0.2': class id 2 is not one of 0..1"),
        ("1 0.5 0.5 0.2", "line 2: '1 0.5 0.5 0.2': expected 'class x_center y_center width height'"),
        ("1 0.5 0.5 -0.2 0.2", "line 2: '1 0.5 0.5 -0.2 0.2': box width -0.2 or height 0.2 is negative"),
        ("1 0.5 nan 0.2 0.2", "line 2: '1 0.5 nan 0.2 0.2': holds a number that is not finite"),
    ],
)
def test_a_bad_yolo_label_fails_naming_file_line_and_value(workflow_copy, tmp_path, label, message):
    project = yolo_project(tmp_path / "yolo")
    with open(project / "labels" / "clip1_4.txt", "a") as f:
        f.write(label + "\n")
    before = snapshot(project)
    proc = prepare(workflow_copy, project, check=False)
    assert proc.returncode != 0
    assert f"{project}/labels/clip1_4.txt: {message}" in proc.stdout
    assert snapshot(project) == before


def voc_project(root: Path) -> Path:
    for i in range(9):
        name = f"clip{i // 3}_{i}.jpg"
        shaded_image(root / "JPEGImages" / name, i)
        cls = "person" if i % 2 else "crane hook"
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / f"clip{i // 3}_{i}.xml").write_text(
            f"<annotation><filename>{name}</filename><size><width>32</width><height>24</height></size>"
            f"<object><name>{cls}</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>12</xmax><ymax>10</ymax></bndbox>"
            "</object></annotation>"
        )
    return root


def test_a_bad_voc_box_and_an_escaping_voc_filename_fail_naming_the_file(workflow_copy, tmp_path):
    project = voc_project(tmp_path / "a" / "voc")
    xml = project / "Annotations" / "clip0_1.xml"
    xml.write_text(xml.read_text().replace("<xmax>12</xmax>", "<xmax>1</xmax>"))
    before = snapshot(tmp_path / "a", tmp_path / "b")
    proc = prepare(workflow_copy, project, check=False)
    assert proc.returncode != 0
    assert f"{xml}: 1 problem(s):\n  object 1 (person): <bndbox> [2.0, 2.0, 1.0, 10.0] has xmax < xmin" in proc.stdout
    assert snapshot(tmp_path / "a", tmp_path / "b") == before

    xml.write_text(xml.read_text().replace("<xmax>1</xmax>", "<xmax>12</xmax>"))
    shaded_image(tmp_path / "b" / "x.jpg", 9)
    xml.write_text(xml.read_text().replace("<filename>clip0_1.jpg", "<filename>../../b/x.jpg"))
    before = snapshot(tmp_path / "a", tmp_path / "b")
    proc = prepare(workflow_copy, project, check=False)
    assert proc.returncode != 0
    assert f"{xml}: <filename> '../../b/x.jpg': file_name" in proc.stdout and "outside the images folder" in proc.stdout
    assert snapshot(tmp_path / "a", tmp_path / "b") == before


@pytest.mark.parametrize(
    "override, message",
    [
        ("training={lr: nan}", "training.lr: nan is not a finite number"),
        ("training={lr: inf}", "training.lr: inf is not a finite number"),
        ("inference={threshold: -inf}", "inference.threshold: -inf is not a finite number"),
        # a SLURM time limit that leaves training no hour (the demo has 2 test videos)
        ("gpu_allocation={time_limit_minutes: 100}", "gpu_allocation: time_limit_minutes 100 leaves 40 minute(s) for training"),
    ],
)
def test_non_finite_config_numbers_fail_the_dry_run(workflow_copy, override, message):
    proc = snakemake(workflow_copy, "-n", *DEMO, "--config", override, check=False)
    assert proc.returncode != 0 and message in proc.stdout


def test_non_finite_numbers_in_a_config_file_fail_the_dry_run(workflow_copy):
    (workflow_copy / "extra.yaml").write_text("training:\n  lr: .inf\nsplits:\n  test_fraction: .nan\n")
    proc = snakemake(workflow_copy, "-n", *DEMO, "--configfile", "extra.yaml", check=False)
    assert proc.returncode != 0
    assert "  training.lr: inf is not a finite number\n  splits.test_fraction: nan is not a finite number" in proc.stdout


def test_a_nan_fraction_in_an_experiment_file_fails_the_dry_run(workflow_copy):
    path = workflow_copy / "config/experiments/exp_person_25.yaml"
    path.write_text(path.read_text().replace("person: 0.25", "person: .nan"))
    proc = snakemake(workflow_copy, "-n", *DEMO, check=False)
    assert proc.returncode != 0
    assert "config/experiments/exp_person_25.yaml:\n  frame_sample_fractions.person: nan is not a finite number" in proc.stdout


def _as_unprivileged(command: list[str]) -> list[str]:
    """Run as this user without the power to read what its permissions forbid (root's bypass dropped)."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


def test_test_videos_that_are_folders_or_unreadable_and_an_unreadable_project_are_named(workflow_copy, tmp_path):
    from conftest import SNAKEMAKE
    import subprocess

    project = tmp_path / "proj"
    coco_project(project)
    (project / "videos" / "folder.mp4").mkdir(parents=True)
    proc = snakemake(workflow_copy, "-n", "--config", f"project_dir={project}", "test_videos=[folder.mp4]", check=False)
    assert proc.returncode != 0
    assert f"test_videos: {project}/videos/folder.mp4 is a folder, not a file" in proc.stdout
    assert "Traceback" not in proc.stdout

    locked = project / "videos" / "locked.mp4"
    locked.write_bytes(b"\x00" * 16)
    locked.chmod(0)
    run = lambda *args: subprocess.run(  # noqa: E731
        _as_unprivileged([SNAKEMAKE, "-n", "--config", *args]), cwd=workflow_copy, capture_output=True, text=True
    )
    proc = run(f"project_dir={project}", "test_videos=[locked.mp4]")
    assert proc.returncode != 0
    assert f"test_videos: {locked} cannot be read (permission denied)" in proc.stdout + proc.stderr

    project.chmod(0)
    try:
        proc = run(f"project_dir={project}", "test_videos=[]")
    finally:
        project.chmod(0o755)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"project_dir: {project} cannot be read (permission denied)" in out and "Traceback" not in out


def test_a_split_that_cannot_be_made_says_how_frames_were_grouped(workflow_copy, tmp_path):
    project = tmp_path / "proj"
    coco = coco_project(project, clips=2, frames=4)
    for img in coco["images"]:
        img["video_id"] = 7  # every frame from one recording
    write_coco(project, coco)
    proc = prepare(workflow_copy, project, check=False)
    assert proc.returncode != 0
    assert (
        "split 'train' has no frames: the 8 frame(s) form 1 clip(s), grouped by the COCO images' video_id; "
        "e.g. frame 'images/clip0_0.jpg' is in clip '7'"
    ) in proc.stdout
    assert "set splits.clip_regex" in proc.stdout


def test_a_valid_project_still_dry_runs(workflow_copy, tmp_path):
    project = tmp_path / "proj"
    coco_project(project)
    proc = snakemake(workflow_copy, "-n", "--config", f"project_dir={project}", *ONE_EXPERIMENT)
    assert job_counts(proc.stdout)["prepare_dataset"] == 1
