"""RF-DETR's published COCO checkpoints: fetched once where Snakemake runs, verified, read locally.

Compute nodes often have no internet. The workflow therefore fetches `pretrain_weights: auto` in a
local rule into its own cache and hands training a plain file path, which rfdetr never tries to
download (its downloads are keyed on the registry's file names, and the cache uses other names).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..files import written_whole
from .models import MODEL_VARIANTS

DOWNLOAD_TIMEOUT_S = 60


class WeightsError(RuntimeError):
    """Published weights could not be fetched or do not match their checksum."""


@dataclass(frozen=True)
class PublishedWeights:
    """One entry of rfdetr's weights registry."""

    model: str
    registry_name: str
    url: str
    md5: str


def cache_path(weights_dir: str | Path, model: str) -> Path:
    """Where the workflow keeps the published COCO checkpoint of `model`."""
    return Path(weights_dir) / f"rf-detr-{model}-coco.pth"


def published_weights(model: str) -> PublishedWeights:
    """URL and MD5 of `model`'s COCO checkpoint, from the installed rfdetr's own registry."""
    import rfdetr.config
    from rfdetr.assets.model_weights import ModelWeights

    name = getattr(rfdetr.config, MODEL_VARIANTS[model].rfdetr_config).model_fields["pretrain_weights"].default
    asset = ModelWeights.from_filename(name)
    if asset is None or not asset.md5_hash:
        raise WeightsError(f"rfdetr's weights registry has no checksummed entry {name!r} for model {model!r}")
    return PublishedWeights(model, name, asset.url, asset.md5_hash)


def file_md5(path: str | Path) -> str:
    """MD5 of a file, read in chunks (checkpoints are hundreds of MB)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hand_placement(url: str, md5: str, dest: Path) -> str:
    """What to do by hand when this machine cannot download."""
    return (
        f"on a machine with internet run\n    curl -L -o {dest.name} {url}\n"
        f"check it (md5sum {dest.name} must print {md5}), copy it to\n    {dest.resolve()}\n"
        "and run the workflow again"
    )


def verify(path: str | Path, md5: str, url: str) -> None:
    """Raise WeightsError unless `path` has the expected MD5."""
    actual = file_md5(path)
    if actual != md5:
        raise WeightsError(
            f"{path}: MD5 {actual} does not match the published weights ({md5}) - the file is incomplete "
            f"or another checkpoint. Delete it and run the workflow again, or {hand_placement(url, md5, Path(path))}"
        )


def download(url: str, md5: str, dest: str | Path, log: Callable[[str], None] = print) -> None:
    """Download `url` to `dest` through a partial file, verify its MD5, then move it into place."""
    import requests

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    log(f"downloading {url} -> {dest}")
    with written_whole(dest) as partial:
        try:
            with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT_S) as response:
                response.raise_for_status()
                with open(partial, "wb") as f:
                    for chunk in response.iter_content(chunk_size=1 << 20):
                        f.write(chunk)
        except (requests.RequestException, OSError) as err:
            raise WeightsError(
                f"could not download {url} to {dest} ({type(err).__name__}: {err}).\n"
                f"Compute nodes and offline login nodes cannot download: {hand_placement(url, md5, dest)}"
            ) from err
        verify(partial, md5, url)
    log(f"{dest}: MD5 {md5} verified")


def fetch(model: str, dest: str | Path, log: Callable[[str], None] = print) -> PublishedWeights:
    """Make `dest` the verified COCO checkpoint of `model`: keep it, copy it from rfdetr's own
    cache, or download it."""
    from rfdetr.assets.model_weights import get_model_cache_dir

    dest = Path(dest)
    weights = published_weights(model)
    if dest.is_file():
        verify(dest, weights.md5, weights.url)
        log(f"{dest}: already there, MD5 verified")
        return weights
    rfdetr_cached = Path(get_model_cache_dir()) / weights.registry_name
    if rfdetr_cached.is_file() and file_md5(rfdetr_cached) == weights.md5:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with written_whole(dest) as partial:
            shutil.copyfile(rfdetr_cached, partial)
        log(f"{dest}: copied from rfdetr's cache {rfdetr_cached}, MD5 verified")
        return weights
    download(weights.url, weights.md5, dest, log)
    return weights
