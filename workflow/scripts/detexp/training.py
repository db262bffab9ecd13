"""Training RF-DETR on a prepared dataset, and what it leaves behind for the later stages."""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

MODEL_CLASSES = {
    "nano": "RFDETRNano",
    "small": "RFDETRSmall",
    "medium": "RFDETRMedium",
    "large": "RFDETRLarge",
    "base": "RFDETRBase",
}
CHECKPOINT_NAME = "checkpoint_best_total.pth"


def pick_device() -> str:
    """The GPU when there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pretrain_weights_arg(value: str | None) -> str | None:
    """`none`/null trains from scratch; anything else is a local checkpoint path."""
    if value is None or str(value).lower() == "none":
        return None
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(f"training.pretrain_weights: {value} does not exist (give a local checkpoint or none)")
    return str(path)


def train_kwargs(dataset_dir: str, output_dir: str, classes: list[str], training: dict[str, Any], seed: int, device: str) -> dict[str, Any]:
    """The keyword arguments for rfdetr's train(), from the validated `training` settings."""
    patience = training["patience"]
    kwargs: dict[str, Any] = {
        "dataset_dir": str(dataset_dir),
        "output_dir": str(output_dir),
        "epochs": training["epochs"],
        "batch_size": training["batch_size"],
        "lr": float(training["lr"]),
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
    }
    kwargs.update(training.get("extra", {}))
    return kwargs


def read_metrics(metrics_csv: Path) -> list[dict[str, float]]:
    """Lightning's metrics.csv merged into one row per epoch (it writes train and val rows apart)."""
    rows: dict[int, dict[str, float]] = {}
    with open(metrics_csv) as f:
        for row in csv.DictReader(f):
            if not row.get("epoch"):
                continue
            epoch = int(float(row["epoch"]))
            merged = rows.setdefault(epoch, {"epoch": epoch})
            for key, value in row.items():
                if key != "epoch" and value not in ("", None):
                    merged[key] = float(value)
    return [rows[e] for e in sorted(rows)]


def summarize_training(metrics: list[dict[str, float]], epochs_asked: int, wall_s: float, device: str, images: int) -> dict[str, Any]:
    """Epochs run, the best epoch by validation mAP@50:95, and the run's cost."""
    validated = [m for m in metrics if not math.isnan(m.get("val/mAP_50_95", math.nan))]
    best = max(validated, key=lambda m: m["val/mAP_50_95"], default=None)
    epochs_run = len(metrics)
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
    }


def train(
    dataset_dir: str | Path,
    output_dir: str | Path,
    classes: list[str],
    training: dict[str, Any],
    seed: int,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train one model; write class_info.json and training_summary.json beside rfdetr's outputs."""
    import rfdetr
    import torch

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = pick_device()
    device_name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    log(f"training RF-DETR {training['model']} on {device_name} at resolution {training['image_size']}")
    model_cls = getattr(rfdetr, MODEL_CLASSES[training["model"]])
    model = model_cls(pretrain_weights=pretrain_weights_arg(training["pretrain_weights"]))
    kwargs = train_kwargs(str(dataset_dir), str(output_dir), classes, training, seed, device)
    log("rfdetr train() arguments: " + json.dumps(kwargs, sort_keys=True, default=str))
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    model.train(**kwargs)
    wall = time.perf_counter() - start
    with open(Path(dataset_dir) / "train" / "_annotations.coco.json") as f:
        n_images = len(json.load(f)["images"])
    metrics = read_metrics(output_dir / "metrics.csv")
    summary = summarize_training(metrics, training["epochs"], wall, device_name, n_images)
    summary["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1) if device == "cuda" else None
    summary["train_images_per_s"] = round(n_images * summary["epochs_run"] / wall, 3) if wall > 0 else None
    class_info = {
        "class_names": list(classes),
        "label_to_category_id": {str(i): i + 1 for i in range(len(classes))},
        "model": training["model"],
        "resolution": training["image_size"],
    }
    (output_dir / "class_info.json").write_text(json.dumps(class_info, indent=2) + "\n")
    (output_dir / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"trained {summary['epochs_run']} epoch(s) in {wall:.1f} s; best epoch {summary['best_epoch']}")
    return summary
