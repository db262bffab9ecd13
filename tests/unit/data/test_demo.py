"""demo: the generated demo project is defined once (detexp/data/demo.py); config/demo.yaml, which runs it, agrees."""

from __future__ import annotations

import yaml

from conftest import REPO
from detexp.data.demo import DEMO_CLASSES, DEMO_PROJECT_DIR, DEMO_VIDEOS


def test_the_demo_config_names_the_demo_projects_classes_and_videos():
    config = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    assert config["project_dir"] == DEMO_PROJECT_DIR
    assert config["classes"] == list(DEMO_CLASSES)
    assert config["test_videos"] == list(DEMO_VIDEOS)
