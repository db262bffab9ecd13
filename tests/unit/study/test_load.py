"""study: the study as the DAG is built - runs, pairs and notes, test videos, the project's annotation
files - and every refusal naming the key (and the project keys its cause may come from)."""

from __future__ import annotations

from pathlib import Path

import pytest

from detexp.study.load import StudyError, load_study, project_sources, video_paths
from detexp.study.replicates import ONE_TRAINING_PER_RUN
from projects import write_clip_project

BASE = {"project_dir": "p", "classes": ["crane hook", "person"]}


def experiments(folder: Path, **fractions: float) -> Path:
    folder.mkdir()
    for name, person in fractions.items():
        (folder / f"{name}.yaml").write_text(f"name: {name}\nframe_sample_fractions: {{person: {person}}}\n")
    return folder


def test_a_study_has_its_runs_pairs_and_the_notes_a_reader_needs(tmp_path):
    folder = experiments(tmp_path / "exp", full=1.0, person_25=0.25)
    study = load_study({**BASE, "experiments_dir": str(folder)})
    assert sorted(study.runs) == ["full", "person_25"] and study.pairs == [("full", "person_25")]
    assert study.notes == ["compared: person_25 against full", ONE_TRAINING_PER_RUN]
    assert study.config["training"]["model"] == "nano"  # validated, defaults filled in
    replicated = load_study({**BASE, "experiments_dir": str(folder), "replicates": 2})
    assert len(replicated.runs) == 4 and replicated.notes[1].startswith("replicates: 2 - ")
    assert load_study({**BASE, "experiments_dir": str(folder), "replicates": 4}).notes == ["compared: person_25 against full"]


def test_a_bad_experiment_names_its_file_and_the_keys_it_may_come_from(tmp_path):
    folder = experiments(tmp_path / "exp", full=1.0)
    (folder / "typo.yaml").write_text("name: typo\nframe_sample_fractions: {persn: 0.5}\n")
    with pytest.raises(StudyError, match=r"typo.yaml: frame_sample_fractions: unknown class 'persn'") as err:
        load_study({**BASE, "experiments_dir": str(folder)})
    assert err.value.keys == ("experiments_dir", "classes")


def test_videos_are_named_by_their_stem_which_must_be_unique(tmp_path):
    videos = video_paths(["a.mp4", str(tmp_path / "b.mp4")], "proj", "videos")
    assert videos == {"a": Path("proj/videos/a.mp4"), "b": tmp_path / "b.mp4"}
    with pytest.raises(StudyError, match="test_videos: 'x/a.mp4' and 'proj/videos/a.mp4' share the name 'a'"):
        video_paths(["a.mp4", "x/a.mp4"], "proj", "videos")


def _config(project: Path, **overrides) -> dict:
    from detexp.study.config import validate_config

    return validate_config({**BASE, "project_dir": str(project), **overrides})


def test_a_project_is_found_read_and_checked_before_any_job(tmp_path):
    write_clip_project(tmp_path / "proj")
    fmt, sources = project_sources(_config(tmp_path / "proj"), {}, linting=False, check=True)
    assert fmt == "coco" and [Path(s).name for s in sources] == ["_annotations.coco.json"]
    # a class the project does not hold: what the split would refuse, said now
    with pytest.raises(StudyError, match="project_dir: .*'dog'"):
        project_sources(_config(tmp_path / "proj", classes=["crane hook", "dog"]), {}, linting=False, check=True)
    # a missing video, named with the key
    with pytest.raises(StudyError, match="test_videos: .*gone.mp4 not found") as err:
        project_sources(_config(tmp_path / "proj"), {"gone": tmp_path / "gone.mp4"}, linting=False, check=True)
    assert err.value.keys == ("test_videos",)


def test_a_missing_project_is_refused_except_where_only_the_rules_are_read(tmp_path):
    with pytest.raises(StudyError, match="project_dir: .*missing does not exist or is not a folder") as err:
        project_sources(_config(tmp_path / "missing"), {}, linting=False, check=True)
    assert err.value.keys == ("project_dir",)
    assert project_sources(_config(tmp_path / "missing"), {}, linting=True, check=True) == ("coco", [])
    assert project_sources(_config(Path("resources/demo_project")), {}, linting=False, check=True) == (
        "coco",
        ["resources/demo_project/_annotations.coco.json"],
    )
    # the demo project is made by a rule, after the dry run: its classes are known all the same
    with pytest.raises(StudyError) as err:
        project_sources(_config(Path("resources/demo_project"), classes=["Person", "dog"]), {}, linting=False, check=True)
    assert err.value.keys == ("classes",)
    assert str(err.value) == (
        "the workflow config: classes: the bundled demo project resources/demo_project: class(es) 'Person' "
        "(did you mean 'person'?), 'dog' not in the project - it has: crane hook, person"
    )
