"""Pascal VOC projects: one XML file per image (Annotations/ with JPEGImages/, or beside the images);
the objects checked here, then read by supervision."""

from __future__ import annotations

import math
import os
import posixpath
from pathlib import Path
from typing import Any

from ..project import Frame, Project, add_box, check_classes, clip_of, image_size, original_name
from ..sources import DatasetError, fail_with, image_source


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


def voc_xml_files(project_dir: Path) -> list[Path]:
    root = project_dir / "Annotations" if (project_dir / "Annotations").is_dir() else project_dir
    return sorted(root.rglob("*.xml"))


def read_voc_project(project_dir: Path, classes: list[str], clip_regex: str) -> Project:
    """Pascal VOC XML (sizes from the XML's <size>), boxes parsed by supervision."""
    from defusedxml.ElementTree import parse
    from supervision.dataset.formats.pascal_voc import detections_from_xml_obj

    project = Project([], project_dir, list(classes))
    seen: set[str] = set()
    for xml_path in voc_xml_files(project_dir):
        try:
            root = parse(str(xml_path)).getroot()
        except Exception as err:  # defusedxml raises several parser error types
            raise DatasetError(f"{xml_path}: invalid XML ({err})") from None
        name = root.findtext("filename") or ""
        candidates = [project_dir / "JPEGImages" / name, xml_path.parent / name, project_dir / name]
        image = next((c for c in candidates if name and c.is_file()), None)
        if image is None:
            raise DatasetError(f"{xml_path}: image {name!r} not found in JPEGImages/, beside the XML or in the project folder")
        relative_name = name if Path(name).is_absolute() else os.path.relpath(image, project_dir)
        source, rel = image_source(relative_name, project_dir, f"{xml_path}: <filename> {name!r}")
        check_voc_objects(root, xml_path)
        size = root.find("size")
        if size is not None and size.findtext("width") and int(size.findtext("width") or 0) > 0:
            w, h = int(size.findtext("width") or 0), int(size.findtext("height") or 0)
        else:
            w, h = image_size(image)
        names: list[str] = []
        det, names = detections_from_xml_obj(root, names, (w, h))
        seen.update(names)
        # the name within the images folder: JPEGImages/, else the project (XML beside the images)
        jpeg_images = project_dir / "JPEGImages"
        folder = jpeg_images if (project_dir / rel).resolve().is_relative_to(jpeg_images.resolve()) else project_dir
        key = original_name(posixpath.relpath(rel, folder.relative_to(project_dir).as_posix()))
        frame = Frame(rel, w, h, clip_of(key, clip_regex), source=source, key=key)
        for (x0, y0, x1, y1), cid in zip(det.xyxy.tolist(), det.class_id.tolist()):
            cls = names[int(cid)]
            where = f"{xml_path}: object of class {cls!r} ({w}x{h})"
            add_box(project, frame, classes.index(cls) if cls in classes else None, cls, [x0, y0, x1 - x0, y1 - y0], where)
        project.frames.append(frame)
    check_classes(classes, {n: None for n in seen}, project_dir)
    project.frames.sort(key=lambda f: f.file_name)
    return project
