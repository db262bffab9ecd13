"""Training RF-DETR on a prepared dataset, and what it leaves behind for the later stages."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from ..content import CACHE_FILE, ContentHashes, file_sha256
from ..device import pick_device
from .distributed import (
    check_devices,
    ddp_arguments,
    handed_to_launched_ranks,
    images_per_epoch,
    launched_rank,
    worker_training,
)
from ..files import write_text_whole
from .metrics import read_metrics
from ..study.models import MODEL_VARIANTS, pretrain_source
from .runlock import TrainingLock
from .shared_training import (
    FINISHED,
    SETTINGS_DIGEST,
    STATE_CHECKPOINT,
    STATE_METRICS,
    TrainingIdentity,
    TrainingPaths,
    link_identical,
    reuse_finished,
    write_outputs,
)
from .training_digest import digest_of, legacy_digests, split_annotations, training_inputs
from ..study.weights import published_weights, verify

# Large files of the state folder that are only needed to resume, removed once training has finished.
RESUME_ONLY = (
    "last.ckpt",
    "resume.ckpt",
    "checkpoint_*.ckpt",
    "last_ema.pth",
    "checkpoint_best_ema.pth",
    "checkpoint_best_regular.pth",
)


def pretrain_weights_path(training: dict[str, Any], pretrain_path: str | Path | None = None) -> str | None:
    """The local checkpoint to start from, or None to train from scratch.

    `pretrain_path` is where the workflow placed the file (the weights cache for `auto`); published
    weights are checked against rfdetr's registry MD5 here too, as they may have been placed by hand.
    """
    source = pretrain_source(training["pretrain_weights"])
    if source is None:
        return None
    if source == "auto" and pretrain_path is None:
        raise ValueError("training.pretrain_weights: auto needs the path of the fetched checkpoint")
    path = Path(pretrain_path if pretrain_path is not None else source)
    if not path.is_file():
        raise FileNotFoundError(
            f"training.pretrain_weights: {path} does not exist (allowed: auto, none or a local checkpoint path)"
        )
    if source == "auto":
        published = published_weights(training["model"])
        verify(path, published.md5, published.url)
    return str(path)


def architecture(training: dict[str, Any]) -> dict[str, int]:
    """rfdetr model-config arguments beyond the variant's own: `training.num_queries` (with num_select,
    the detections an image keeps at most, equal to it: rfdetr's top-k must not ask for more query-class
    pairs than there are) and `training.group_detr`. Empty when neither is set."""
    arguments: dict[str, int] = {}
    if training.get("num_queries") is not None:
        arguments["num_queries"] = arguments["num_select"] = training["num_queries"]
    if training.get("group_detr") is not None:
        arguments["group_detr"] = training["group_detr"]
    return arguments


def model_identity(training: dict[str, Any]) -> dict[str, Any]:
    """What the model a training builds is: its variant and any architecture setting (part of the digest)."""
    return {"variant": training["model"], **architecture(training)}


def build_model(training: dict[str, Any], weights: str | None) -> Any:
    """The rfdetr model of `training.model` (with its architecture settings), from `weights` (a local
    file) or from scratch."""
    import rfdetr

    return getattr(rfdetr, MODEL_VARIANTS[training["model"]].rfdetr_class)(pretrain_weights=weights, **architecture(training))


def train_kwargs(
    dataset_dir: str, output_dir: str, classes: list[str], training: dict[str, Any], seed: int, device: str
) -> dict[str, Any]:
    """The keyword arguments for rfdetr's train(), from the validated `training` settings."""
    patience = training["patience"]
    kwargs: dict[str, Any] = {
        "dataset_dir": str(dataset_dir),
        "output_dir": str(output_dir),
        "epochs": matched_images_seen(dataset_dir, training)["epochs"],
        "batch_size": training["batch_size"],
        "lr": float(training["lr"]),
        **({"lr_encoder": float(training["lr_encoder"])} if training.get("lr_encoder") is not None else {}),
        "resolution": training["image_size"],
        "early_stopping": patience is not None,
        "early_stopping_patience": patience if patience is not None else 10,
        "seed": seed,
        "multi_scale": training["multi_scale"],
        "expanded_scales": training["multi_scale"],
        "num_workers": training["num_workers"],
        "class_names": list(classes),
        "tensorboard": True,
        "log_per_class_metrics": True,
        "progress_bar": None,
        "device": device,
        **ddp_arguments(training.get("gpus", 1)),
    }
    kwargs.update(training.get("extra", {}))
    loss_weights = loss_weights_of(dataset_dir, classes, training)
    if loss_weights is not None:
        kwargs[CLASS_LOSS_WEIGHTS] = loss_weights
    return kwargs


def _training_entries(dataset_dir: str | Path) -> int:
    """Entries of a training COCO file: its frames, repeated ones once per copy."""
    return len(json.loads(split_annotations(Path(dataset_dir), "train"))["images"])


def matched_images_seen(dataset_dir: str | Path, training: dict[str, Any]) -> dict[str, Any]:
    """The epochs a run trains: training.epochs, or for a remedy matched to its baseline
    (`training.match_images_seen`: the baseline's run, epochs, dataset and GPUs) the epochs whose images
    seen (epochs x images_per_epoch) come closest to the baseline's at its epochs (the fewer epochs on
    a tie, at least 1), with the baseline's figure."""
    match = training.get("match_images_seen")
    if not match:
        return {"epochs": training["epochs"]}
    batch = training["batch_size"] * int(training.get("extra", {}).get("grad_accum_steps", 1))
    per_epoch = images_per_epoch(_training_entries(dataset_dir), batch, training.get("gpus", 1))
    baseline_epoch = images_per_epoch(_training_entries(match["baseline_dataset_dir"]), batch, match.get("baseline_gpus", 1))
    target = match["baseline_epochs"] * baseline_epoch
    fewer = max(1, target // per_epoch)
    epochs = min((fewer, fewer + 1), key=lambda e: (abs(e * per_epoch - target), e))
    return {"epochs": epochs, "baseline": match["baseline"], "baseline_images_seen": target, "images_seen": epochs * per_epoch}


# The one key of train_kwargs that is the workflow's, not rfdetr's: the class-weighted loss, applied
# around rfdetr's train() (detexp.train.weighted_loss). It is part of the training digest.
CLASS_LOSS_WEIGHTS = "class_loss_weights"


def loss_weights_of(dataset_dir: str | Path, classes: list[str], training: dict[str, Any]) -> dict[str, Any] | None:
    """The classification loss weights of a run (class -> weight, from its training split's instances)
    and the code that applies them, or None for rfdetr's own loss."""
    from ..codeversion import behaviour_digest
    from .loss_weights import class_loss_weights, training_instances

    spec = training.get("class_loss_weights")
    if spec is None:
        return None
    instances = training_instances(json.loads(split_annotations(Path(dataset_dir), "train")), classes)
    here = Path(__file__).parent
    return {
        "weights": class_loss_weights(spec, instances, classes),
        "code": behaviour_digest([here / "loss_weights.py", here / "weighted_loss.py"]),
    }


def summarize_training(
    metrics: list[dict[str, float]],
    epochs_asked: int,
    wall_s: float,
    device: str,
    images: int,
    effective_batch: int = 1,
    world_size: int = 1,
) -> dict[str, Any]:
    """Epochs run, the best epoch by validation mAP@50:95, and the run's cost.

    `images` counts the training COCO file's entries (repeated frames included). An epoch shows
    images_per_epoch of them over all `world_size` processes (rfdetr's minimum and padding to whole
    effective batches, batch size x gradient accumulation, on every process); each optimizer step
    takes one effective batch per process. The images seen are the compute a run got, which grows
    with oversampling."""
    validated = [m for m in metrics if not math.isnan(m.get("val/mAP_50_95", math.nan))]
    best = max(validated, key=lambda m: m["val/mAP_50_95"], default=None)
    epochs_run = len(metrics)
    seen = epochs_run * images_per_epoch(images, effective_batch, world_size)
    steps = seen // (effective_batch * world_size)
    return {
        "epochs_requested": epochs_asked,
        "epochs_run": epochs_run,
        "best_epoch": int(best["epoch"]) if best else None,
        "best_val_mAP_50_95": best.get("val/mAP_50_95") if best else None,
        "best_val_mAP_50": best.get("val/mAP_50") if best else None,
        "early_stopped": epochs_run < epochs_asked,
        "wall_time_s": round(wall_s, 2),
        "device": device,
        "train_images": images,
        "gpus": world_size,
        "effective_batch": effective_batch * world_size,
        "optimizer_steps": steps,
        "training_images_seen": seen,
    }


def _loadable(path: Path) -> int | None:
    """The epoch a full Lightning checkpoint was saved after, or None if it is missing or truncated."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        return int(state["epoch"])
    except Exception:  # a truncated or foreign file: any failure means "not usable"
        return None


def find_resume_checkpoint(
    state_dir: Path, settings_digest: str, log: Callable[[str], None] = print, accepted: Iterable[str] = ()
) -> tuple[Path, int] | None:
    """The newest complete checkpoint of an interrupted run with the same settings and the number of
    epochs it completed, else None.

    Candidates, newest first: last.ckpt (rewritten, not atomically, after every epoch), resume.ckpt
    (what the previous attempt resumed from), then rfdetr's interval archives checkpoint_<N>.ckpt.
    A run with other settings, or one with no usable checkpoint, is cleared for a fresh start;
    `accepted` are further digests of the same training (earlier digest schemes').
    """
    marker = state_dir / SETTINGS_DIGEST
    if not state_dir.is_dir():
        return None
    if not marker.is_file() or marker.read_text().strip() not in {settings_digest, *accepted}:
        log(f"{state_dir}: left by a run with other settings - starting fresh")
        shutil.rmtree(state_dir)
        return None
    archives = sorted(state_dir.glob("checkpoint_*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in [state_dir / "last.ckpt", state_dir / "resume.ckpt", *archives]:
        if not candidate.is_file():
            continue
        epoch = _loadable(candidate)
        if epoch is None:
            log(f"{candidate} is truncated or unreadable - trying the one before")
            continue
        # Keep the file we resume from out of the way of the next non-atomic last.ckpt write.
        resume = state_dir / "resume.ckpt"
        if candidate != resume:
            candidate.replace(resume)
        log(f"resuming from {candidate.name}: epoch {epoch + 1} was complete, training continues with epoch {epoch + 2}")
        return resume, epoch + 1
    log(f"{state_dir}: no complete checkpoint to resume from - starting fresh")
    shutil.rmtree(state_dir)
    return None


def identify(
    dataset_dir: str | Path,
    classes: list[str],
    training: dict[str, Any],
    seed: int,
    weights: str | None,
    state_dir: str | Path = "",
    hashes: ContentHashes | None = None,
) -> TrainingIdentity:
    """A run's training identity (digest, inputs, earlier schemes' digests) from its prepared dataset and
    settings, before any training (`weights`: the local checkpoint training starts from, None from
    scratch; `state_dir`: where it trains, which only the earliest scheme's digests covered)."""
    kwargs = train_kwargs(str(dataset_dir), str(state_dir), classes, training, seed, "")
    model = model_identity(training)
    weights = None if weights is None else str(Path(weights))
    inputs = training_inputs(kwargs, model, training.get("gpus", 1), weights, dataset_dir, hashes)
    legacy = legacy_digests(kwargs, model, bool(architecture(training)), weights, dataset_dir)
    return TrainingIdentity(digest_of(inputs), inputs, legacy, training["model"])


def content_cache(paths: TrainingPaths) -> ContentHashes:
    """The study's cache of file digests (in memory only for a run outside a study folder)."""
    return ContentHashes(None if paths.study_dir is None else paths.study_dir / CACHE_FILE)


def train(
    dataset_dir: str | Path,
    paths: TrainingPaths,
    classes: list[str],
    training: dict[str, Any],
    seed: int,
    pretrain_path: str | Path | None = None,
    log: Callable[[str], None] = print,
    same_as: str | None = None,
) -> dict[str, Any]:
    """Train one model into `paths` (checkpoint, metrics, class map and summary).

    `pretrain_path` is the local file behind `training.pretrain_weights` (required for `auto`).
    Refuses to start while another training of the same run is live (anywhere); a finished training
    of the same digest is reused, this run's own (reuse_finished) or another run's (link_identical:
    `same_as` names the run the workflow planned this one to share a training with).

    A rank that rank 0 launched for a multi-GPU training (distributed.py) only trains, with rank 0's
    arguments, and returns None: rank 0 holds the lock and writes everything."""
    if launched_rank():
        _fit(**worker_training(), log=log)
        return None
    with TrainingLock(paths.lock, str(paths.state_dir), log, paths.kept_log if paths.job_log else None):
        keep_log(paths, log)
        return _train(Path(dataset_dir), paths, classes, training, seed, pretrain_path, log, same_as)


def keep_log(paths: TrainingPaths, log: Callable[[str], None]) -> None:
    """Link the job's log beside the lock while this training holds it: a second start of the job
    (another Snakemake with --nolock) has Snakemake delete the log's path and write its own refusal
    there, and the live training's log stays whole at paths.kept_log."""
    if paths.job_log is None or paths.kept_log is None:
        return
    paths.kept_log.parent.mkdir(parents=True, exist_ok=True)
    paths.kept_log.unlink(missing_ok=True)
    try:
        os.link(paths.job_log, paths.kept_log)
    except OSError as err:  # no hard links across these folders: the job's log is the only one
        log(f"note: the training's log could not be linked to {paths.kept_log} ({err})")


def _train(
    dataset_dir: Path,
    paths: TrainingPaths,
    classes: list[str],
    training: dict[str, Any],
    seed: int,
    pretrain_path: str | Path | None,
    log: Callable[[str], None],
    same_as: str | None = None,
) -> dict[str, Any]:
    """Reuse a finished training, else resume or start one, then record it and write the outputs."""
    state_dir = paths.state_dir
    device = pick_device()
    gpus = training.get("gpus", 1)
    check_devices(gpus, device, _visible_gpus())
    device_name = _device_name(device)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    on = (
        f"{gpus} x {device_name} (DDP{'' if visible is None else ', CUDA_VISIBLE_DEVICES ' + visible})"
        if gpus > 1
        else device_name
    )
    settings = ", ".join(f"{key} {value}" for key, value in architecture(training).items() if key != "num_select")
    log(
        f"training RF-DETR {training['model']} on {on} at resolution {training['image_size']}"
        + (f" ({settings})" if settings else "")
    )
    if training["model"] == "base":
        log("note: RF-DETR base is deprecated by rfdetr (since 1.7); nano, small, medium and large are its successors")
    kwargs = train_kwargs(str(dataset_dir), str(state_dir), classes, training, seed, device)
    matched = matched_images_seen(dataset_dir, training)
    if "baseline" in matched:
        log(
            f"match_images_seen: {matched['epochs']} epoch(s), {matched['images_seen']} training images seen, closest to "
            f"the {matched['baseline_images_seen']} of baseline {matched['baseline']} at its {training['match_images_seen']['baseline_epochs']} epoch(s)"
        )
    weights = pretrain_weights_path(training, pretrain_path)
    log(f"starting from {weights}" if weights else "starting from scratch (pretrain_weights: none)")
    hashes = content_cache(paths)
    identity = identify(dataset_dir, classes, training, seed, weights, state_dir, hashes)
    reused = reuse_finished(paths, identity, log, same_as) or link_identical(paths, identity, same_as, log)
    if reused is not None:
        return reused
    loss_weights = kwargs.pop(CLASS_LOSS_WEIGHTS, None)
    if loss_weights is not None:
        log("class-weighted classification loss, weights: " + json.dumps(loss_weights["weights"]))
    found = find_resume_checkpoint(state_dir, identity.digest, log, identity.legacy)
    resume, epochs_before = found if found else (None, 0)
    state_dir.mkdir(parents=True, exist_ok=True)
    write_text_whole(state_dir / SETTINGS_DIGEST, identity.digest + "\n")
    if resume is not None:
        kwargs["resume"] = str(resume)
    log("rfdetr train() arguments: " + json.dumps(kwargs, sort_keys=True, default=str))
    wall, peak_memory_mb = _fit(training, weights, kwargs, device, loss_weights, log)
    images = len(json.loads(split_annotations(dataset_dir, "train"))["images"])
    summary = _training_record(state_dir, kwargs, kwargs["epochs"], images, wall, device_name, gpus)
    summary.update(training_digest=identity.digest, same_training_as=None, linked_by_plan=False, planned_after=same_as)
    summary["class_loss_weights"] = loss_weights["weights"] if loss_weights else None
    summary["images_seen_matched_to"] = matched if "baseline" in matched else None
    summary["resumed_after_epochs"] = epochs_before
    summary["peak_gpu_memory_mb"] = peak_memory_mb
    epochs_this_run = summary["epochs_run"] - epochs_before
    seen_this_run = summary["training_images_seen"] * epochs_this_run / max(summary["epochs_run"], 1)
    summary["train_images_per_s"] = round(seen_this_run / wall, 3) if wall > 0 else None
    for pattern in RESUME_ONLY:
        for path in state_dir.glob(pattern):
            path.unlink()
    summary["checkpoint_sha256"] = file_sha256(state_dir / STATE_CHECKPOINT)
    finished = {
        "digest": identity.digest,
        "inputs": identity.inputs,
        "class_info": class_info(classes, training),
        "summary": summary,
    }
    write_text_whole(state_dir / FINISHED, json.dumps(finished, indent=2) + "\n")
    write_outputs(paths, finished)
    log(
        f"trained {summary['epochs_run']} epoch(s), {epochs_this_run} in this run, in {wall:.1f} s; "
        f"best epoch {summary['best_epoch']}"
    )
    return summary


def _device_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name(0) if device == "cuda" else "cpu"


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _fit(
    training: dict[str, Any],
    weights: str | None,
    kwargs: dict[str, Any],
    device: str,
    loss_weights: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[float, float | None]:
    """rfdetr's training itself (with `loss_weights`, class-weighted): its wall time (s) and peak GPU
    memory (MiB, rank 0's, None on a CPU). With several GPUs the ranks Lightning launches get the
    same arguments (handed_to_launched_ranks) and call this too."""
    import torch

    model = build_model(training, weights)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    handed = {"training": training, "weights": weights, "kwargs": kwargs, "device": device, "loss_weights": loss_weights}
    with handed_to_launched_ranks(handed, training.get("gpus", 1)):
        if loss_weights is None:
            model.train(**kwargs)
        else:
            from .weighted_loss import class_weighted_training

            with class_weighted_training(list(loss_weights["weights"].values()), log):
                model.train(**kwargs)
    wall = time.perf_counter() - start
    peak = round(torch.cuda.max_memory_allocated() / 2**20, 1) if device == "cuda" else None
    return wall, peak


def _training_record(
    state_dir: Path, kwargs: dict[str, Any], epochs_asked: int, images: int, wall: float, device_name: str, gpus: int = 1
) -> dict[str, Any]:
    """The training summary from the metrics rfdetr logged (all epochs, across resumes)."""
    metrics = read_metrics(state_dir / STATE_METRICS)
    effective_batch = kwargs["batch_size"] * int(kwargs.get("grad_accum_steps", 1))
    return summarize_training(metrics, epochs_asked, wall, device_name, images, effective_batch, gpus)


def class_info(classes: list[str], training: dict[str, Any]) -> dict[str, Any]:
    """The model's label order and what inference needs to rebuild it (class_info.json)."""
    return {
        "class_names": list(classes),
        "label_to_category_id": {str(i): i + 1 for i in range(len(classes))},
        "model": training["model"],
        "resolution": training["image_size"],
    }
