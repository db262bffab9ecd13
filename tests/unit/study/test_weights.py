"""Pretrained weights: rfdetr's registry, the verified download, hand placement, and what training loads."""

from __future__ import annotations

import hashlib
import http.server
import re
import socket
import threading
from pathlib import Path

import pytest

from detexp.study.models import MODEL_VARIANTS
from detexp.schemas import load_schema
from detexp.train.training import build_model, pretrain_weights_path
from detexp.study.weights import PublishedWeights, WeightsError, cache_path, download, fetch, published_weights


@pytest.fixture
def served(tmp_path):
    """A local HTTP server with one file; yields (url, md5, content)."""
    root = tmp_path / "www"
    root.mkdir()
    content = bytes(range(256)) * 4096  # 1 MiB
    (root / "weights.pth").write_bytes(content)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/weights.pth", hashlib.md5(content).hexdigest(), content
    server.shutdown()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/weights.pth"


def test_every_model_has_checksummed_published_weights_and_the_schema_lists_the_same_models():
    assert load_schema("config.schema.yaml")["properties"]["training"]["properties"]["model"]["enum"] == list(MODEL_VARIANTS)
    for model in MODEL_VARIANTS:
        weights = published_weights(model)
        assert weights.url.startswith("https://") and weights.url.endswith(".pth")
        assert re.fullmatch(r"[0-9a-f]{32}", weights.md5)
    assert published_weights("nano").md5 == "fb6504cce7fbdc783f7a46991f07639f"
    assert cache_path("resources/weights", "nano") == Path("resources/weights/rf-detr-nano-coco.pth")


def test_download_verifies_the_checksum_and_moves_the_file_into_place(served, tmp_path):
    url, md5, content = served
    dest = tmp_path / "cache" / "w.pth"
    download(url, md5, dest, log=lambda m: None)
    assert dest.read_bytes() == content
    assert list(dest.parent.iterdir()) == [dest]  # no partial file left


def test_a_checksum_mismatch_leaves_nothing_behind(served, tmp_path):
    url, md5, _ = served
    dest = tmp_path / "cache" / "w.pth"
    with pytest.raises(WeightsError, match=f"does not match the published weights \\({'0' * 32}\\)"):
        download(url, "0" * 32, dest, log=lambda m: None)
    assert list(dest.parent.iterdir()) == []


def test_an_offline_machine_is_told_which_file_to_place_where(tmp_path):
    url = closed_port_url()
    dest = tmp_path / "weights" / "rf-detr-nano-coco.pth"
    with pytest.raises(WeightsError) as err:
        download(url, "ab" * 16, dest, log=lambda m: None)
    message = str(err.value)
    assert f"could not download {url}" in message
    assert f"curl -L -o rf-detr-nano-coco.pth {url}" in message
    assert f"must print {'ab' * 16}" in message
    assert str(dest.resolve()) in message
    assert not dest.exists() and list(dest.parent.iterdir()) == []  # no partial file left


def test_fetch_keeps_a_verified_file_rejects_a_wrong_one_and_reuses_rfdetrs_cache(served, tmp_path, monkeypatch):
    url, md5, content = served
    monkeypatch.setattr(
        "detexp.study.weights.published_weights", lambda model: PublishedWeights(model, "rf-detr-nano.pth", url, md5)
    )
    rf_home = tmp_path / "rf_home"
    rf_home.mkdir()
    monkeypatch.setenv("RF_HOME", str(rf_home))
    dest = tmp_path / "cache" / "rf-detr-nano-coco.pth"
    # a copy in rfdetr's own cache is used instead of the network
    (rf_home / "rf-detr-nano.pth").write_bytes(content)
    messages: list[str] = []
    fetch("nano", dest, log=messages.append)
    assert dest.read_bytes() == content and "copied from rfdetr's cache" in messages[-1]
    # a file already in place is verified, not fetched again
    fetch("nano", dest, log=messages.append)
    assert "already there, MD5 verified" in messages[-1]
    # a hand-placed file with the wrong content is named, not used
    dest.write_bytes(b"not a checkpoint")
    with pytest.raises(
        WeightsError, match=re.escape(f"{dest}: MD5 {hashlib.md5(b'not a checkpoint').hexdigest()} does not match")
    ):
        fetch("nano", dest, log=messages.append)
    # nothing cached anywhere: downloaded
    dest.unlink()
    (rf_home / "rf-detr-nano.pth").unlink()
    fetch("nano", dest, log=messages.append)
    assert dest.read_bytes() == content and "verified" in messages[-1]


def test_training_checks_published_weights_placed_by_hand(tmp_path):
    placed = tmp_path / "rf-detr-nano-coco.pth"
    placed.write_bytes(b"truncated download")
    with pytest.raises(WeightsError, match="does not match the published weights"):
        pretrain_weights_path({"model": "nano", "pretrain_weights": "auto"}, placed)
    assert pretrain_weights_path({"model": "nano", "pretrain_weights": None}) is None
    assert pretrain_weights_path({"model": "nano", "pretrain_weights": "none"}) is None
    with pytest.raises(FileNotFoundError, match="allowed: auto, none or a local checkpoint path"):
        pretrain_weights_path({"model": "nano", "pretrain_weights": str(tmp_path / "missing.pth")})


def test_a_checkpoint_path_reaches_the_model(tmp_path):
    """The weights rfdetr builds the model from are the checkpoint's (a from-scratch nano, saved here)."""
    import torch

    source = build_model({"model": "nano"}, None)
    state = {k: v.clone() for k, v in source.model.model.state_dict().items()}
    checkpoint = tmp_path / "earlier_run.pth"
    torch.save({"model": state, "args": source.model.args if hasattr(source.model, "args") else {}}, checkpoint)
    path = pretrain_weights_path({"model": "nano", "pretrain_weights": str(checkpoint)})
    loaded = build_model({"model": "nano"}, path).model.model.state_dict()
    fresh = build_model({"model": "nano"}, None).model.model.state_dict()
    differs_from_fresh = [k for k in state if not torch.equal(state[k], fresh[k])]
    assert differs_from_fresh, "two from-scratch models should not share their random initialisation"
    assert all(torch.equal(loaded[k], state[k]) for k in differs_from_fresh)
