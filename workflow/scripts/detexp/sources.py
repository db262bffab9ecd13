"""A user's annotation files are data, not instructions: validated before use, image paths kept in their root.

Every failure names the file, the entry (id or line) and the value, and lists up to
`MAX_LISTED` problems at once so that one run shows what to fix.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

MAX_LISTED = 10
# Where an absolute file_name outside the images folder is linked inside a dataset.
EXTERNAL_PREFIX = "_external"


class DatasetError(ValueError):
    """The project or the sampling cannot give a valid dataset; the message says why and where."""


def fail_with(source: str | Path, problems: list[str]) -> None:
    """Raise one DatasetError listing the first problems (and how many more there are)."""
    if not problems:
        return
    shown = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    raise DatasetError(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)


def read_text(path: Path, what: str = "annotation file") -> str:
    """A text file's content as UTF-8 (a byte-order mark is allowed), with errors that say what to do."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: {what} is a folder, not a file") from None
    except PermissionError:
        raise DatasetError(f"{path}: {what} cannot be read (permission denied)") from None
    except UnicodeDecodeError as err:
        raw = path.read_bytes()
        line = raw[: err.start].count(b"\n") + 1
        raise DatasetError(
            f"{path}: {what} is not UTF-8 text (byte 0x{raw[err.start]:02x} at line {line}, byte offset "
            f"{err.start}) - save it as UTF-8, e.g. iconv -f latin1 -t utf-8 (for a Latin-1 file)"
        ) from None


def load_json(path: Path) -> Any:
    """Parse a JSON annotation file; errors name the line and column."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None


def _describe_entry(coco: dict[str, Any], key: str, index: int) -> str:
    """`images[3] (id 7, 'a.jpg')`: where an entry is, by position and id, for messages."""
    entry = coco[key][index] if isinstance(coco.get(key), list) and index < len(coco[key]) else None
    if not isinstance(entry, dict):
        return f"{key}[{index}]"
    details = [f"id {entry['id']!r}"] if "id" in entry else []
    if key == "images" and isinstance(entry.get("file_name"), str):
        details.append(repr(entry["file_name"]))
    return f"{key}[{index}] ({', '.join(details)})" if details else f"{key}[{index}]"


def _schema_problems(coco: Any) -> list[str]:
    import jsonschema

    from .schemas import load_schema

    validator = jsonschema.Draft202012Validator(load_schema("coco_annotations.schema.yaml"))
    problems = []
    for error in sorted(validator.iter_errors(coco), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        if len(path) >= 2 and isinstance(path[1], int):
            where = _describe_entry(coco, str(path[0]), path[1])
            rest = ".".join(map(str, path[2:]))
        else:
            where, rest = ".".join(map(str, path)) or "(top level)", ""
        problems.append(f"{where}: {rest + ': ' if rest else ''}{error.message}")
    return problems


def _duplicate_ids(coco: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("images", "annotations", "categories"):
        counts = Counter(entry["id"] for entry in coco[key])
        problems += [f"{key}: id {i!r} is used by {n} entries - ids must be unique" for i, n in counts.items() if n > 1]
    ids_of_name: dict[str, list[Any]] = {}
    for img in coco["images"]:
        ids_of_name.setdefault(img["file_name"], []).append(img["id"])
    problems += [
        f"images: file_name {name!r} appears in {len(ids)} entries (ids {', '.join(map(repr, ids))}) - one entry per image"
        for name, ids in ids_of_name.items()
        if len(ids) > 1
    ]
    return problems


def check_bbox(bbox: list[float]) -> str | None:
    """Why a COCO [x, y, width, height] box cannot be used, or None."""
    if not all(math.isfinite(v) for v in bbox):
        return f"bbox {bbox} holds a number that is not finite"
    if bbox[2] < 0 or bbox[3] < 0:
        return f"bbox {bbox} has a width or height < 0 (COCO boxes are [x, y, width, height])"
    return None  # a width or height of 0 is a degenerate box: dropped and counted by the reader


def validate_coco(coco: Any, path: Path) -> None:
    """Check a COCO file's structure (schema), unique ids, references and boxes; raise naming each problem."""
    problems = _schema_problems(coco)
    fail_with(path, problems)
    problems = _duplicate_ids(coco)
    image_ids = {img["id"] for img in coco["images"]}
    category_ids = {c["id"] for c in coco["categories"]}
    known = ", ".join(f"{c['id']!r} {c['name']!r}" for c in coco["categories"])
    for index, ann in enumerate(coco["annotations"]):
        where = _describe_entry(coco, "annotations", index)
        if ann["image_id"] not in image_ids:
            problems.append(f"{where}: image_id {ann['image_id']!r} is not the id of any image in this file")
        if ann["category_id"] not in category_ids:
            problems.append(f"{where}: category_id {ann['category_id']!r} is not a category of this file ({known})")
        reason = check_bbox([float(v) for v in ann["bbox"]])
        if reason:
            problems.append(f"{where}: {reason}")
    fail_with(path, problems)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def image_source(file_name: str, image_root: Path, where: str) -> tuple[Path, str]:
    """Where to read an image named in an annotation file, and the name of its copy in a dataset.

    A relative name must stay inside `image_root` after `..` and symlinks are resolved. An absolute
    name is read where it is; its copy is named by its place inside `image_root`, or else under
    `_external/` plus the path. The copy's name never starts with `/` or holds `..`.
    """
    root = Path(image_root).resolve()
    name = Path(file_name)
    if "\x00" in file_name:
        raise DatasetError(f"{where}: file_name {file_name!r} holds a NUL character")
    if name.is_absolute():
        source = Path(os.path.normpath(name))
        resolved = source.resolve()
        if _inside(resolved, root):
            return source, resolved.relative_to(root).as_posix()
        return source, (Path(EXTERNAL_PREFIX) / source.relative_to(source.anchor)).as_posix()
    resolved = (root / name).resolve()
    if not _inside(resolved, root) or resolved == root:
        raise DatasetError(
            f"{where}: file_name {file_name!r} resolves to {resolved}, outside the images folder {root} - "
            "relative file names must lie inside it (config key images_dir sets that folder, relative to "
            "project_dir; absolute file names are read where they are)"
        )
    return root / name, resolved.relative_to(root).as_posix()


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


def check_voc_objects(root: Any, xml_path: Path) -> None:
    """Every <object> of a VOC file has a name and a <bndbox> of finite numbers with xmax >= xmin, ymax >= ymin."""
    problems = []
    for index, obj in enumerate(root.iter("object")):
        name = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        texts = [box.findtext(k) if box is not None else None for k in ("xmin", "ymin", "xmax", "ymax")]
        where = f"object {index + 1} ({name or 'no <name>'})"
        if not name:
            problems.append(f"{where}: <name> is missing or empty")
            continue
        try:
            coords = [float(t) for t in texts]  # type: ignore[arg-type]
        except (TypeError, ValueError):
            problems.append(f"{where}: <bndbox> needs numbers xmin, ymin, xmax, ymax, got {texts}")
            continue
        if not all(math.isfinite(v) for v in coords):
            problems.append(f"{where}: <bndbox> {coords} holds a number that is not finite")
        elif coords[2] < coords[0] or coords[3] < coords[1]:  # inclusive pixels: xmax == xmin is one pixel wide
            problems.append(f"{where}: <bndbox> {coords} has xmax < xmin or ymax < ymin")
    fail_with(xml_path, problems)
