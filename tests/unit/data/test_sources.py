"""sources: a user's files are data, not instructions - image paths stay inside their root, a YOLO
data.yaml's class count must match its names."""

from __future__ import annotations
import pytest
from projects import coco_project, shaded_image, write_coco, yolo_project


def test_a_relative_name_through_a_symlink_out_of_the_images_folder_fails(tmp_path):
    from detexp.data.formats import read_project
    from detexp.data.sources import DatasetError

    project = tmp_path / "proj"
    coco = coco_project(project)
    (tmp_path / "other").mkdir()
    shaded_image(tmp_path / "other" / "z.jpg", 3)
    (project / "images" / "link").symlink_to(tmp_path / "other")
    coco["images"][0]["file_name"] = "images/link/z.jpg"
    write_coco(project, coco)
    with pytest.raises(
        DatasetError, match=r"file_name 'images/link/z.jpg' resolves to .*/other/z.jpg, outside the images folder"
    ):
        read_project(project, ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")


def test_yolo_nc_must_match_names(tmp_path):
    from detexp.data.formats import read_project
    from detexp.data.sources import DatasetError

    project = yolo_project(tmp_path / "yolo")
    (project / "data.yaml").write_text("nc: 3\nnames: [crane hook, person]\n")
    with pytest.raises(DatasetError, match="data.yaml: nc is 3 but names lists 2 classes"):
        read_project(project, ["crane hook", "person"], r"^(?P<clip>.*?)[_-]?\d+$")
