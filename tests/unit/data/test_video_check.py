"""data/video_check: what the dry run refuses of a test video - real files, generated and then broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from detexp.data.demo import write_demo_video
from detexp.data.video_check import video_problem
from detexp.study.load import StudyError, project_sources
from projects import write_clip_project


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("videos") / "good.mp4"
    write_demo_video(path, "both", clip=1, frames=6)
    return path


def test_a_video_that_decodes_passes_and_broken_ones_are_refused_with_the_reason(video, tmp_path):
    assert video_problem(video) is None
    whole = video.read_bytes()
    broken = {"empty.mp4": b"", "cut.mp4": whole[: len(whole) // 3], "text.mp4": b"not a video\n" * 50}
    for name, content in broken.items():
        (tmp_path / name).write_bytes(content)
        problem = video_problem(tmp_path / name)
        assert problem is not None and problem.startswith("cannot be read as a video"), (name, problem)
        assert "an empty or cut-short file, or an unknown container or codec" in problem


def test_the_dry_run_refuses_a_broken_test_video_naming_the_key(video, tmp_path):
    from detexp.study.config import validate_config

    write_clip_project(tmp_path / "proj")
    config = validate_config({"project_dir": str(tmp_path / "proj"), "classes": ["crane hook", "person"]})
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert project_sources(config, {"good": video}, linting=False, check=True)[0] == "coco"
    with pytest.raises(StudyError, match=r"test_videos: .*empty.mp4 cannot be read as a video") as err:
        project_sources(config, {"good": video, "empty": tmp_path / "empty.mp4"}, linting=False, check=True)
    assert err.value.keys == ("test_videos",)
    # where only the rules are read, or in a job's own process, no video is opened
    assert project_sources(config, {"empty": tmp_path / "empty.mp4"}, linting=False, check=False)[0] == "coco"
