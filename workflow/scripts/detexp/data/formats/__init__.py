"""Reading a labelled project in any supported layout, one module per format (after supervision's
dataset/formats): coco (a COCO file, or a Roboflow COCO export already split), yolo, voc.

No image is decoded where the annotations state its size (YOLO: the size is read from the image
file's header)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..image_check import ImageChecks
from ...layout import SPLIT_ANNOTATIONS_NAME
from ..project import Project, split_dirs
from ...schemas import load_schema
from ..sources import DatasetError, fail_with
from .coco import coco_annotations_path, read_coco_project, read_roboflow_project
from .voc import read_voc_project, voc_xml_files
from .yolo import read_yolo_project

# The project formats the readers know: the schema's project_format values but `auto` (detected).
FORMATS = tuple(f for f in load_schema("config.schema.yaml")["properties"]["project_format"]["enum"] if f != "auto")


def detect_format(project_dir: Path, annotations_file: str | None = None) -> str:
    """Which layout a project has: coco, roboflow (COCO already split), yolo or voc."""
    project_dir = Path(project_dir)
    if annotations_file:
        return "coco"
    if all((project_dir / s / SPLIT_ANNOTATIONS_NAME).is_file() for s in ("train", "valid")):
        return "roboflow"
    if (project_dir / "data.yaml").is_file():
        return "yolo"
    if (project_dir / SPLIT_ANNOTATIONS_NAME).is_file() or list(project_dir.glob("*.json")):
        return "coco"
    if (project_dir / "Annotations").is_dir() or next(project_dir.rglob("*.xml"), None) is not None:
        return "voc"  # Annotations/*.xml, or XML files beside the images (in any subfolder)
    raise DatasetError(
        f"{project_dir}: no known dataset layout - expected a COCO file ({SPLIT_ANNOTATIONS_NAME} or one *.json), "
        "train/ valid/ test/ folders each with " + SPLIT_ANNOTATIONS_NAME + ", a YOLO data.yaml, or Pascal VOC *.xml files"
    )


def project_sources(project_dir: Path, fmt: str, annotations_file: str | None = None) -> list[str]:
    """The files that define a project's annotations (Snakemake inputs of the split)."""
    project_dir = Path(project_dir)
    if fmt == "coco":
        return [str(coco_annotations_path(project_dir, annotations_file))]
    if fmt == "roboflow":
        return [
            str(p / SPLIT_ANNOTATIONS_NAME) for p in split_dirs(project_dir).values() if (p / SPLIT_ANNOTATIONS_NAME).is_file()
        ]
    if fmt == "yolo":
        return [str(project_dir / "data.yaml")]
    return sorted(str(p) for p in voc_xml_files(project_dir))


def read_project(
    project_dir: Path,
    classes: list[str],
    clip_regex: str,
    fmt: str = "auto",
    annotations_file: str | None = None,
    images_dir: str = ".",
    degenerate_boxes: str = "drop",
) -> Project:
    """Read a project in any supported layout; frame file names are relative to `project.image_root`.

    Boxes of zero width or height are dropped and noted (`project.degenerate_boxes`), or, with
    `degenerate_boxes="refuse"`, fail the read naming each."""
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise DatasetError(f"project_dir {project_dir} does not exist or is not a folder")
    fmt = detect_format(project_dir, annotations_file) if fmt == "auto" else fmt
    if fmt == "coco":
        project = read_coco_project(
            coco_annotations_path(project_dir, annotations_file), project_dir / images_dir, classes, clip_regex
        )
    elif fmt == "roboflow":
        project = read_roboflow_project(project_dir, classes, clip_regex)
    elif fmt == "yolo":
        project = read_yolo_project(project_dir, classes, clip_regex, images_dir)
    elif fmt == "voc":
        project = read_voc_project(project_dir, classes, clip_regex, images_dir)
    else:
        raise DatasetError(f"unknown project format {fmt!r} - one of: auto, {', '.join(FORMATS)}")
    if degenerate_boxes == "refuse" and project.degenerate_boxes:
        fail_with(
            f"{project_dir} (degenerate_boxes: refuse; drop drops and counts them)",
            [f"{where} has a width or height of 0" for where in project.degenerate_boxes],
        )
    return project


def _dropped_warning(dropped: list[str], what: str, more: str, setting: str) -> str | None:
    """One `warning:` line for what a read dropped (`what`: how many of what, dropped how), the first
    named, or None when nothing was dropped; `setting: refuse` is named as the way to stop instead."""
    if not dropped:
        return None
    rest = f" and {len(dropped) - 1} more{more}" if len(dropped) > 1 else ""
    return f"warning: {len(dropped)} {what}, e.g. {dropped[0]}{rest} - {setting}: refuse stops instead"


def degenerate_box_warning(project: Project) -> str | None:
    """The `warning:` line of a project whose boxes of zero width or height were dropped, or None."""
    return _dropped_warning(
        project.degenerate_boxes, "box(es) of zero width or height dropped (not an object to learn)", "", "degenerate_boxes"
    )


def check_project(
    project_dir: Path,
    classes: list[str],
    splits: dict[str, Any],
    seed: int,
    fmt: str = "auto",
    annotations_file: str | None = None,
    images_dir: str = ".",
    degenerate_boxes: str = "drop",
) -> None:
    """Raise DatasetError for what split_dataset would refuse, found from the annotations alone (no
    image decoded): classes the project lacks, an image not found, a box it cannot take, a grouping
    into clips that would split clips (independent photos without splits.group_frames: false)."""
    from ..sampling import assign_splits

    project = read_project(project_dir, classes, splits["clip_regex"], fmt, annotations_file, images_dir, degenerate_boxes)
    assign_splits(
        project.frames, splits["valid_fraction"], splits["test_fraction"], seed, project.clip_rule, splits["group_frames"]
    )


def drop_bad_images(project: Project, how: str, results: Path | None = None) -> None:
    """Drop the frames whose image cannot be decoded or is cut short (noted in `project.bad_images`),
    or, with `how="refuse"`, fail naming each. Verdicts are cached in `results` (None: not cached)."""
    by_source = {str(project.source_of(frame)): frame for frame in project.frames}
    problems = ImageChecks(results).problems(by_source)
    if not problems:
        return
    if how == "refuse":
        fail_with(
            f"{project.image_root} (bad_images: refuse; drop drops and counts them)",
            [f"{path}: {problem}" for path, problem in sorted(problems.items())],
        )
    project.bad_images = [f"{by_source[path].file_name}: {problem}" for path, problem in sorted(problems.items())]
    bad = {id(by_source[path]) for path in problems}
    project.frames = [frame for frame in project.frames if id(frame) not in bad]


def bad_image_warning(project: Project) -> str | None:
    """The `warning:` line of a project whose unreadable images were dropped, or None."""
    return _dropped_warning(
        project.bad_images, "image(s) that cannot be read whole dropped with their boxes", " (dataset_stats.json)", "bad_images"
    )


def read_project_of(args: Any, log: Callable[[str], None] = print) -> Project:
    """read_project with the project arguments of an entry script (cli.add_project_arguments and
    --clip-regex), its unreadable images dropped (or refused), logging what was dropped."""
    project = read_project(
        args.project_dir,
        args.classes,
        args.clip_regex,
        args.format,
        args.annotations_file,
        args.images_dir,
        args.degenerate_boxes,
    )
    drop_bad_images(project, args.bad_images, args.results)
    for warning in (degenerate_box_warning(project), bad_image_warning(project)):
        if warning:
            log(warning)
    return project
