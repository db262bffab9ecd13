"""What decides a training's outcome, as one digest: a finished training is reused, resumed from or
linked by another run only when every input's content is the same.

A digest covers (training_inputs, one part each, so a log can say which part differs):
- settings: rfdetr's train() arguments but where it runs (classes, seed, epochs, lr, resolution,
  the class-weighted loss's weights ...), the model variant and architecture, the number of GPUs;
- pretrain_weights: the starting checkpoint's bytes (not its path), or none;
- train/valid annotations: the bytes of each split's COCO file;
- train/valid images: the bytes of every image the split's COCO file names (cached, detexp.content);
- software: the versions of rfdetr, torch, torchvision and faster-coco-eval;
- code: every definition of the train entry script and of every module it imports
  (codeversion.definitions_digest): docstrings, comments, layout and moves between modules do not count.
It does not cover the test split, the machine, the GPU model or CUDA/cuDNN versions, nor libraries
other than those four (numpy, Pillow ...): a training is not bit-for-bit repeatable across them anyway.

Trainings finished before this scheme carry a digest of an earlier one (settings, annotations and
training.py's own code only): `legacy_digests` computes those once more, and a finished training that
matches one is recorded under the current digest (migrated once, with its checkpoint's sha256).
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from .. import layout
from ..codeversion import definitions_digest
from ..content import ContentHashes

# rfdetr arguments that say where a training runs, not what it learns: left out of its digest, so that
# two runs with the same settings and data (and one run moved elsewhere) share one.
PLACE_ARGUMENTS = ("dataset_dir", "output_dir", "device", "resume")
# Libraries whose version changes what a training learns or how it is scored during training.
SOFTWARE = ("rfdetr", "torch", "torchvision", "faster-coco-eval")
# The splits a training reads (the test split never).
TRAINING_SPLITS = ("train", "valid")
# The entry script whose imports are the training's code.
TRAIN_SCRIPT = "train.py"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def split_annotations(dataset_dir: str | Path, split: str) -> bytes:
    return (Path(dataset_dir) / split / layout.SPLIT_ANNOTATIONS_NAME).read_bytes()


def split_images(dataset_dir: str | Path, split: str, annotations: bytes | None = None) -> list[Path]:
    """The image files a split's COCO file names (each once), inside its folder."""
    folder = Path(dataset_dir) / split
    coco = json.loads(annotations if annotations is not None else split_annotations(dataset_dir, split))
    names = sorted({image["file_name"] for image in coco["images"]})
    for name in names:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ValueError(f"{folder / layout.SPLIT_ANNOTATIONS_NAME}: image {name!r} lies outside {folder}")
    return [folder / name for name in names]


def _images_part(dataset_dir: str | Path, split: str, annotations: bytes, hashes: ContentHashes) -> str:
    paths = split_images(dataset_dir, split, annotations)
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} image(s) of {Path(dataset_dir) / split} are missing, e.g. {missing[0]}")
    lines = (f"{p.name} {sha}" for p, sha in zip(paths, hashes.many(paths)))
    return _sha("\n".join(lines).encode())[:16]


def learned_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """rfdetr's arguments without the place of the run; the class-weighted loss by its weights only
    (its code is part of the code digest)."""
    settings = {k: v for k, v in kwargs.items() if k not in PLACE_ARGUMENTS}
    if isinstance(settings.get("class_loss_weights"), dict):
        settings["class_loss_weights"] = settings["class_loss_weights"].get("weights")
    return settings


def training_inputs(
    kwargs: dict[str, Any],
    model: dict[str, Any],
    gpus: int,
    weights: str | Path | None,
    dataset_dir: str | Path,
    hashes: ContentHashes | None = None,
) -> dict[str, str]:
    """Each input of a training as a short digest (see the module's docstring)."""
    hashes = hashes or ContentHashes()
    settings = {"arguments": learned_settings(kwargs), "model": model, "gpus": gpus}
    parts = {"settings": _sha(json.dumps(settings, sort_keys=True, default=str).encode())[:16]}
    parts["pretrain_weights"] = "none" if weights is None else hashes.sha256(weights)[:16]
    for split in TRAINING_SPLITS:
        annotations = split_annotations(dataset_dir, split)
        parts[f"{split}_annotations"] = _sha(annotations)[:16]
        parts[f"{split}_images"] = _images_part(dataset_dir, split, annotations, hashes)
    parts["software"] = ", ".join(f"{name} {version(name)}" for name in SOFTWARE)
    parts["code"] = definitions_digest(TRAIN_SCRIPT)
    return parts


def digest_of(inputs: dict[str, str]) -> str:
    """The training digest of its inputs (training_inputs)."""
    return _sha(json.dumps({"scheme": 2, **inputs}, sort_keys=True).encode())


def differing_inputs(recorded: dict[str, str] | None, current: dict[str, str]) -> list[str]:
    """The inputs whose content differs between a finished training's record and now."""
    if not recorded:
        return ["(the record is of an earlier digest scheme)"]
    return sorted(k for k in current.keys() | recorded.keys() if recorded.get(k) != current.get(k))


# ---- the earlier schemes, for the one-time migration of trainings finished under them ----------------
# The code part of the scheme before this one: the syntax tree without docstrings of training.py alone,
# by Python version (ast dumps differ between them). Frozen: this scheme's code part follows definitions,
# so a later move of code changes nothing and never needs an entry here.
# training.py as it was last, before this scheme (3.9-3.11, 3.12, 3.13); its digests cover the model.
LAST_TRAINING_CODE = ("2809e242c0e22815", "032dbc53acea5815", "5ad0552318f28f71")
# Earlier versions accepted as the same code, from before the model entered the digest.
EQUIVALENT_CODE = (
    "6ad598ea2807fb6e",
    "2e49f069a33121b3",
    "3ba4318c512da44f",
    "f688359141d7503f",
    "06f0fb9558d82c58",
    "252d67936b0a55ea",
    "601b7519513c83a3",
    "ef0fc4136fb2cd33",
    "f07997d65d1f2360",
    "a8b537244f4c305a",
)
# The scheme before the validation split entered the digest: training.py's syntax tree with docstrings.
PREVIOUS_SCHEME_CODE = ("3f06e3d209a34389", "dec13ff5562ef6d3", "5c9f1e16f36ca390")


def _scheme1_digest(
    kwargs: dict[str, Any], model: dict[str, Any] | None, weights: str | None, dataset_dir: Path, code: str
) -> str:
    settings = {k: v for k, v in kwargs.items() if k not in PLACE_ARGUMENTS} | {"pretrain_weights": weights}
    if model is not None:
        settings["model"] = model
    parts = {
        "settings": _sha(json.dumps(settings, sort_keys=True, default=str).encode()),
        "train": _sha(split_annotations(dataset_dir, "train")),
        "valid": _sha(split_annotations(dataset_dir, "valid")),
        "code": f"rfdetr {version('rfdetr')} {code}",
    }
    return _sha(json.dumps(parts, sort_keys=True).encode())


def legacy_digests(
    kwargs: dict[str, Any], model: dict[str, Any], has_architecture: bool, weights: str | Path | None, dataset_dir: str | Path
) -> dict[str, str]:
    """The digests earlier schemes gave this training, each with the model variant a finished record
    must name to be this training (the digests before the model entered them do not cover it). Those
    before architecture settings existed only where none is set."""
    dataset_dir = Path(dataset_dir)
    weights = None if weights is None else str(Path(weights))
    found = dict.fromkeys(
        (_scheme1_digest(kwargs, model, weights, dataset_dir, code) for code in LAST_TRAINING_CODE), model["variant"]
    )
    if has_architecture:
        return found
    found.update(
        dict.fromkeys((_scheme1_digest(kwargs, None, weights, dataset_dir, code) for code in EQUIVALENT_CODE), model["variant"])
    )
    settings = json.dumps({**kwargs, "device": None, "pretrain_weights": weights}, sort_keys=True, default=str)
    train = hashlib.sha256(split_annotations(dataset_dir, "train")).digest()
    for code in PREVIOUS_SCHEME_CODE:
        found[hashlib.sha256(settings.encode() + train + f"rfdetr {version('rfdetr')} {code}".encode()).hexdigest()] = model[
            "variant"
        ]
    return found
