"""A study as Snakemake builds its DAG: the runs and compared pairs of the validated config, its test
videos, and its labelled project's annotation files. Every problem a setting or a file can hold stops
here, before any job (`StudyError`: the file, the key, what is allowed, and the project keys whose
bundled values may be its cause); what a reader should know about the study is said in `notes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import validate_config
from ..data.demo import DEMO_ANNOTATIONS, DEMO_CLASSES, DEMO_PROJECT_DIR
from ..data.project import check_classes
from .experiments import load_experiments
from .runs import Run, describe_pairs, expand_runs, reference_pairs, run_pairs
from ..data.sources import DatasetError
from .validation import ConfigError, path_problem
from .replicates import CALIBRATED_REPLICATES, FEW_REPLICATES_NOTE, ONE_TRAINING_PER_RUN


class StudyError(ConfigError):
    """A configuration problem, with the project keys (config.PROJECT_KEYS) its cause may come from."""

    def __init__(self, message: str, *keys: str) -> None:
        super().__init__(message)
        self.keys = keys


@dataclass
class Study:
    """The validated config, its runs (the {run} wildcard: experiments x sweep values x replicates),
    the compared pairs of experiments and of runs, and the notes a dry run prints."""

    config: dict[str, Any]
    runs: dict[str, Run]
    experiment_pairs: list[tuple[str, str]]
    pairs: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)


def load_study(config: dict[str, Any]) -> Study:
    """The study of a config as Snakemake merged it (raises StudyError)."""
    try:
        validated = validate_config(config)
        experiments = load_experiments(validated)
        runs = expand_runs(validated, experiments)
        experiment_pairs = reference_pairs(validated, experiments)
        study = Study(validated, runs, experiment_pairs, run_pairs(runs, experiment_pairs))
    except ConfigError as err:
        raise StudyError(str(err), "experiments_dir", "classes") from err
    if experiment_pairs:
        study.notes.append(f"compared: {describe_pairs(experiment_pairs)}")
    if study.pairs and validated["replicates"] < 2:
        study.notes.append(ONE_TRAINING_PER_RUN)
    elif study.pairs and validated["replicates"] < CALIBRATED_REPLICATES:
        study.notes.append(f"replicates: {validated['replicates']} - {FEW_REPLICATES_NOTE}")
    return study


def video_paths(test_videos: list[str], project_dir: str | Path, videos_dir: str) -> dict[str, Path]:
    """The test videos by file stem (the {video} wildcard): a name under the project's videos folder,
    or an absolute path. Two videos of one stem would write the same outputs: refused."""
    paths: dict[str, Path] = {}
    for entry in test_videos:
        path = Path(entry) if Path(entry).is_absolute() else Path(project_dir) / videos_dir / entry
        if path.stem in paths:
            raise StudyError(
                f"the workflow config: test_videos: {entry!r} and {str(paths[path.stem])!r} share the name "
                f"{path.stem!r} - output names come from the file stem, so it must be unique"
            )
        paths[path.stem] = path
    return paths


def project_sources(config: dict[str, Any], videos: dict[str, Path], linting: bool, check: bool) -> tuple[str, list[str]]:
    """The project's format and its annotation files (the split's inputs). The project folder and the
    videos must exist; with `check`, the annotations are read as the split would read them (no image
    decoded), so that what it would refuse the dry run says. `snakemake --lint` reads the rules, not a
    project: there a missing project is no error (the bundled study's is a placeholder)."""
    project_dir = config["project_dir"]
    if project_dir == DEMO_PROJECT_DIR:  # made by the workflow's own rule, with the demo's classes
        try:
            check_classes(config["classes"], dict.fromkeys(DEMO_CLASSES), Path(DEMO_PROJECT_DIR))
        except DatasetError as err:
            raise StudyError(f"the workflow config: classes: the bundled demo project {err}", "classes") from None
        return "coco", [DEMO_ANNOTATIONS]
    problem = path_problem(project_dir, "folder")
    if linting and problem:
        return "coco", []
    if problem in ("not found", "is not a folder"):
        raise StudyError(
            f"the workflow config: project_dir: {project_dir} does not exist or is not a folder - point it at "
            "your labelled project (--config project_dir=...), or run the bundled demo with --configfile config/demo.yaml",
            "project_dir",
        )
    if problem:
        raise StudyError(f"the workflow config: project_dir: {project_dir} {problem}")
    for path in videos.values():
        problem = path_problem(path, "file")
        if not problem and check and not linting:
            from ..data.video_check import video_problem

            problem = video_problem(path)
        if problem:
            raise StudyError(f"the workflow config: test_videos: {path} {problem}", "test_videos")
    from ..data.formats import check_project, detect_format
    from ..data.formats import project_sources as annotation_files

    try:
        fmt = config["project_format"]
        if fmt == "auto":
            fmt = detect_format(project_dir, config["annotations_file"])
        sources = annotation_files(project_dir, fmt, config["annotations_file"])
        if check and not linting:
            check_project(
                project_dir,
                config["classes"],
                config["splits"],
                config["seed"],
                fmt,
                config["annotations_file"],
                config["images_dir"],
                config["degenerate_boxes"],
            )
    except DatasetError as err:
        raise StudyError(f"project_dir: {err}") from err
    return fmt, sources
