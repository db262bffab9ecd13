"""YOLO projects: data.yaml with images/ and labels/ (flat, images/<split>/, or <split>/images/);
the labels checked here, then read by supervision."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

from ..project import Frame, Project, add_box, check_classes, clip_of, image_size, merge_projects, original_name, split_dirs
from ..sources import DatasetError, fail_with, image_source, read_text


def yolo_class_names(data_yaml: Path) -> list[str]:
    """`names` of a YOLO data.yaml (list or index mapping), checked against `nc` when given."""
    import yaml

    try:
        data = yaml.safe_load(read_text(data_yaml, "YOLO data.yaml"))
    except yaml.YAMLError as err:
        raise DatasetError(f"{data_yaml}: not valid YAML ({err})") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        try:
            names = [names[k] for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            raise DatasetError(f"{data_yaml}: names: keys must be class indices 0..N-1, got {list(names)}") from None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DatasetError(f"{data_yaml}: names: expected a list of class names (or index: name), got {names!r}")
    nc = data.get("nc")
    if nc is not None and nc != len(names):
        raise DatasetError(f"{data_yaml}: nc is {nc!r} but names lists {len(names)} classes")
    return names


def _yolo_line_problem(tokens: list[str], n_classes: int) -> str | None:
    if len(tokens) not in (5, 6) and (len(tokens) < 7 or len(tokens) % 2 == 0):
        return "expected 'class x_center y_center width height' (5 numbers, 6 with a score) or a polygon 'class x y x y x y ...'"
    try:
        cid, values = float(tokens[0]), [float(t) for t in tokens[1:]]
    except ValueError:
        return "holds something that is not a number"
    if not all(math.isfinite(v) for v in (cid, *values)):
        return "holds a number that is not finite"
    if not cid.is_integer() or not 0 <= cid < n_classes:
        return f"class id {tokens[0]} is not one of 0..{n_classes - 1} (the classes of data.yaml's names)"
    if len(tokens) in (5, 6) and (values[2] < 0 or values[3] < 0):
        return f"box width {tokens[3]} or height {tokens[4]} is negative"
    return None


def yolo_box_counts(label_files: Iterable[Path], n_classes: int) -> list[int]:
    """Boxes per class id in YOLO label files (already checked)."""
    counts = [0] * n_classes
    for label_file in label_files:
        for line in read_text(label_file, "YOLO label file").splitlines():
            if line.split():
                counts[int(float(line.split()[0]))] += 1
    return counts


def check_yolo_labels(label_files: Iterable[Path], class_names: list[str]) -> None:
    """Every line of every YOLO label file: its format, finite numbers, a class id inside `names`."""
    problems = []
    for label_file in sorted(label_files):
        for number, line in enumerate(read_text(label_file, "YOLO label file").splitlines(), start=1):
            tokens = line.split()
            reason = _yolo_line_problem(tokens, len(class_names)) if tokens else None
            if reason:
                problems.append(f"{label_file}: line {number}: {line.strip()!r}: {reason}")
    fail_with("YOLO labels", problems)


# The image extensions supervision's YOLO reader lists (an image of another kind is not read)
YOLO_IMAGE_EXTENSIONS = ("bmp", "dng", "jpg", "jpeg", "mpo", "png", "tif", "tiff", "webp")


def read_yolo_project(project_dir: Path, classes: list[str], clip_regex: str, images_dir: str | None = None) -> Project:
    """YOLO: data.yaml with images/ and labels/ (flat, images/<split>/, or <split>/images/), via supervision.

    `images_dir` (relative to project_dir) takes the place of images/ (flat or with split folders),
    its labels still in labels/. A label file whose image is not there fails the read, naming where
    it looked: supervision would skip it without a word."""
    from supervision.dataset.formats.yolo import load_yolo_annotations

    data_yaml = project_dir / "data.yaml"
    given = images_dir not in (None, "", ".")
    images_root = project_dir / (images_dir if given else "images")
    if given and not images_root.is_dir():
        raise DatasetError(
            f"images_dir: {images_dir}: {images_root} is not a folder (for YOLO: the folder of the images, "
            "relative to project_dir, flat or with train/valid/test folders; the labels stay in labels/)"
        )
    layouts = split_dirs(images_root)
    pairs = {s: (d, project_dir / "labels" / d.name) for s, d in layouts.items()}
    if not pairs and not given:
        pairs = {s: (d, d.parent / "labels") for s, d in split_dirs(project_dir, "images").items()}
    if not pairs:
        pairs = {None: (images_root, project_dir / "labels")}
    _check_every_label_has_its_image(pairs.values(), images_dir if given else None)
    names = yolo_class_names(data_yaml)
    label_files = [p for _, labels in pairs.values() for p in labels.rglob("*.txt")]
    check_yolo_labels(label_files, names)
    check_classes(classes, dict(zip(names, yolo_box_counts(label_files, len(names)))), data_yaml)
    label_of = {i: classes.index(n) if n in classes else None for i, n in enumerate(names)}
    parts = []
    for split, (images, labels) in pairs.items():
        try:
            _, paths, detections = load_yolo_annotations(str(images), str(labels), str(data_yaml))
        except ValueError as err:
            raise DatasetError(f"{data_yaml}: {err}") from None
        part = Project([], project_dir, list(classes))
        for path in paths:
            source, rel = image_source(str(Path(path).relative_to(project_dir)), project_dir, f"{images}: image")
            w, h = image_size(Path(path))
            key = original_name(Path(path).relative_to(images).as_posix())  # the name within its images folder
            frame = Frame(rel, w, h, clip_of(key, clip_regex), split=split, source=source, key=key)
            det = detections[path]
            for (x0, y0, x1, y1), cid in zip(det.xyxy.tolist(), det.class_id.tolist()):
                where = f"{labels}: label of {Path(path).name} ({w}x{h})"
                add_box(part, frame, label_of[int(cid)], names[int(cid)], [x0, y0, x1 - x0, y1 - y0], where)
            part.frames.append(frame)
        parts.append(part)
    return merge_projects(parts, project_dir, classes)


def _check_every_label_has_its_image(pairs: Iterable[tuple[Path, Path]], images_dir: str | None) -> None:
    """Each label file (labels/<stem>.txt) has its image (<stem>.<an image extension>) in its images folder."""
    problems = []
    for images, labels in pairs:
        stems = {p.stem for p in images.iterdir() if p.suffix[1:].lower() in YOLO_IMAGE_EXTENSIONS} if images.is_dir() else set()
        # supervision reads <stem>.txt beside nothing else: a label in a subfolder is never read either
        names = [p.relative_to(labels).with_suffix("").as_posix() for p in labels.rglob("*.txt")] if labels.is_dir() else []
        orphans = sorted(f"{name}.txt" for name in names if name not in stems)
        if orphans:
            shown = ", ".join(orphans[:5]) + (f" and {len(orphans) - 5} more" if len(orphans) > 5 else "")
            problems.append(
                f"{labels}: {len(orphans)} label file(s) without an image in {images} "
                f"(looked for <name>.{{{','.join(YOLO_IMAGE_EXTENSIONS)}}}): {shown}"
            )
    setting = f"images_dir is {images_dir!r}" if images_dir else "images_dir is not set: images/ is used"
    fail_with(f"YOLO images ({setting}; images_dir: <folder>, relative to project_dir, names another)", problems)
