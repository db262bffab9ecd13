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


# Where VOC exports put the images, besides `images_dir` and the XML's own folder (labelImg writes
# them beside the XML, or in images/ beside annots/ or annotations/).
VOC_IMAGE_FOLDERS = ("JPEGImages", "images")


def image_folders(project_dir: Path, xml_path: Path, images_dir: str | None) -> list[Path]:
    """The folders a VOC file's <filename> is looked for in, in order: `images_dir` (when set), the
    export's image folders, the XML's own folder, the project folder."""
    given = [project_dir / images_dir] if images_dir not in (None, "", ".") else []
    folders = [*given, *(project_dir / f for f in VOC_IMAGE_FOLDERS), xml_path.parent, project_dir]
    return list(dict.fromkeys(folders))


def read_voc_project(project_dir: Path, classes: list[str], clip_regex: str, images_dir: str | None = None) -> Project:
    """Pascal VOC XML (sizes from the XML's <size>), boxes parsed by supervision; the images in
    `images_dir`, JPEGImages/, images/, beside the XML or in the project folder."""
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
        folders = image_folders(project_dir, xml_path, images_dir)
        folder = next((f for f in folders if name and (f / name).is_file()), None)
        if folder is None:
            looked = ", ".join(f"{os.path.relpath(f, project_dir)}/" for f in folders)
            raise DatasetError(
                f"{xml_path}: image {name!r} (its <filename>) not found - looked in {looked} (relative to {project_dir}); "
                "set images_dir: <folder> (relative to project_dir) where the images are"
            )
        image = folder / name
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
        # the name within its images folder (JPEGImages/, images/ or images_dir); beside the XML or in the
        # project folder, the name within the project
        within = folder if folder not in (xml_path.parent, project_dir) else project_dir
        key = original_name(posixpath.relpath(rel, within.relative_to(project_dir).as_posix()))
        frame = Frame(rel, w, h, clip_of(key, clip_regex), source=source, key=key)
        for (x0, y0, x1, y1), cid in zip(det.xyxy.tolist(), det.class_id.tolist()):
            cls = names[int(cid)]
            where = f"{xml_path}: object of class {cls!r} ({w}x{h})"
            add_box(project, frame, classes.index(cls) if cls in classes else None, cls, [x0, y0, x1 - x0, y1 - y0], where)
        project.frames.append(frame)
    check_classes(classes, {n: None for n in seen}, project_dir)
    project.frames.sort(key=lambda f: f.file_name)
    return project
