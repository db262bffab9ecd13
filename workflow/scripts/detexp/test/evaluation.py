"""Held-out evaluation: a trained model on the fixed test split, scored with a COCO evaluator.

AP comes from faster-coco-eval (the COCO protocol, checked against pycocotools by the tests);
precision, recall, F1 and the confusion matrix come from supervision's ConfusionMatrix at the match
IoU `evaluation.iou_threshold` (default 0.5).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..schemas import schema_default

METRICS_SCHEMA_VERSION = 1
# Confidence thresholds searched for the best overall F1.
F1_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))
# Predictions kept for AP and for predictions.json: COCO evaluation needs the low-score tail.
MIN_SCORE = 0.001


class EvaluationError(ValueError):
    """The test split or the model's classes do not fit together; the message says how."""


def label_to_category(class_names: list[str], categories: list[dict[str, Any]], source: str) -> dict[int, int]:
    """Map the model's 0-based labels to the test file's category ids, by class name."""
    by_name = {c["name"]: int(c["id"]) for c in categories}
    missing = [n for n in class_names if n not in by_name]
    if missing:
        raise EvaluationError(
            f"{source}: no category named {', '.join(map(repr, missing))} - the model knows {class_names}, "
            f"the file has {sorted(by_name)}"
        )
    return {label: by_name[name] for label, name in enumerate(class_names)}


def coco_results(image_id: int, detections: Any, label_map: dict[int, int]) -> list[dict[str, Any]]:
    """One image's detections in COCO results format ([x, y, w, h] boxes), background slot dropped."""
    out = []
    for (x1, y1, x2, y2), label, score in zip(detections.xyxy, detections.class_id, detections.confidence):
        if int(label) not in label_map:
            continue
        out.append(
            {
                "image_id": int(image_id),
                "category_id": label_map[int(label)],
                "bbox": [round(float(x1), 2), round(float(y1), 2), round(float(x2 - x1), 2), round(float(y2 - y1), 2)],
                "score": round(float(score), 5),
            }
        )
    return out


def predict_split(
    checkpoint: str | Path,
    annotations: str | Path,
    gt: dict[str, Any],
    batch_size: int = schema_default("inference.batch_size"),
    log: Callable[[str], None] = print,
) -> tuple[list[str], list[dict[str, Any]]]:
    """The model's class names and its predictions on every image of a COCO split (`gt`, read from
    `annotations`, beside which its images lie)."""
    import cv2
    import rfdetr

    from ..device import pick_device

    annotations = Path(annotations)
    device = pick_device()
    model = rfdetr.from_checkpoint(str(checkpoint), device=device)
    class_names = list(model.class_names)
    label_map = label_to_category(class_names, gt["categories"], str(annotations))
    log(f"{annotations}: {len(gt['images'])} images, {len(gt['annotations'])} boxes; device {device}")
    predictions: list[dict[str, Any]] = []
    images = gt["images"]
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        frames = []
        for image in batch:
            path = annotations.parent / image["file_name"]
            frame = cv2.imread(str(path))
            if frame is None:
                raise EvaluationError(f"{path}: cannot read this test image (listed in {annotations})")
            frames.append(np.ascontiguousarray(frame[:, :, ::-1]))
        results = model.predict(frames, threshold=MIN_SCORE, include_source_image=False)
        for image, det in zip(batch, results if isinstance(results, list) else [results]):
            predictions.extend(coco_results(image["id"], det, label_map))
    return class_names, predictions


def _per_category_ap(precision: np.ndarray, order: list[int], cat_ids: list[int]) -> dict[int, dict[str, float | None]]:
    """AP@50:95 and AP@50 per category id from COCO's precision array [IoU, recall, category,
    area, maxDets] (all areas, most detections); None where no box of the category was there."""

    def mean_ap(p: np.ndarray) -> float | None:
        p = p[p > -1]
        return float(p.mean()) if p.size else None

    return {
        c: {"AP_50_95": mean_ap(precision[:, :, order.index(c), 0, -1]), "AP_50": mean_ap(precision[0, :, order.index(c), 0, -1])}
        for c in cat_ids
    }


def _evaluator(gt: dict[str, Any], predictions: list[dict[str, Any]], per_image: bool = False):
    """faster-coco-eval's bbox evaluator on `gt`, evaluated (per image and kept, if `per_image`)."""
    from faster_coco_eval import COCO, COCOeval_faster

    coco_gt = COCO(gt)
    evaluator = COCOeval_faster(
        coco_gt, coco_gt.loadRes(predictions), "bbox", separate_eval=per_image, print_function=lambda *a, **k: None
    )
    if per_image:  # resamples are read for all box sizes at COCO's 100 detections only: a quarter of the work
        params = evaluator.params
        if params.areaRngLbl[0] != "all":
            raise RuntimeError(f"faster-coco-eval's first area range is not 'all': {params.areaRngLbl}")
        params.areaRng, params.areaRngLbl, params.maxDets = params.areaRng[:1], params.areaRngLbl[:1], params.maxDets[-1:]
    evaluator.evaluate()
    return evaluator


def coco_ap(gt: dict[str, Any], predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """mAP@50 and mAP@50:95 overall and per category id (None where the split has no such box)."""
    cat_ids = [int(c["id"]) for c in gt["categories"]]
    if not predictions:
        return {"mAP_50_95": 0.0, "mAP_50": 0.0, "per_category": {c: {"AP_50_95": 0.0, "AP_50": 0.0} for c in cat_ids}}
    evaluator = _evaluator(gt, predictions)
    evaluator.accumulate()
    evaluator.summarize()
    per_category = _per_category_ap(np.asarray(evaluator.eval["precision"]), list(evaluator.params.catIds), cat_ids)
    return {"mAP_50_95": float(evaluator.stats[0]), "mAP_50": float(evaluator.stats[1]), "per_category": per_category}


class ResampledAP:
    """One run's COCO evaluation done once per test image, so that its per-category AP on any
    resample of the test images (repeats count twice) is a single accumulate.

    faster-coco-eval keeps its per-image results in a list laid out [category][area][image]; a
    resample picks those of its images (with repeats) and accumulates them in C++. Equal to a fresh
    evaluation of the resampled set with repeats renamed apart (checked by the tests)."""

    def __init__(self, gt: dict[str, Any], predictions: list[dict[str, Any]]) -> None:
        import faster_coco_eval.faster_eval_api_cpp as coco_cpp

        self._accumulate = coco_cpp.COCOevalAccumulate
        evaluator = _evaluator(gt, predictions, per_image=True)
        self._params = evaluator._paramsEval
        self._per_image = evaluator._evalImgs_cpp
        self._image_index = {int(i): n for n, i in enumerate(self._params.imgIds)}
        self._cat_ids = [int(c["id"]) for c in gt["categories"]]
        self._blocks = len(self._params.catIds) * len(self._params.areaRng)
        if len(self._per_image) != self._blocks * len(self._image_index):
            raise RuntimeError(
                f"faster-coco-eval's per-image results are not laid out as expected ({len(self._per_image)} entries)"
            )

    def image_positions(self, image_ids: list[int]) -> np.ndarray:
        """Positions of test image ids in this evaluation (the same for every run on one split)."""
        return np.array([self._image_index[int(i)] for i in image_ids])

    def per_category(self, positions: np.ndarray) -> dict[int, dict[str, float | None]]:
        """AP@50:95 and AP@50 per category id on the test images at `positions` (repeats allowed)."""
        n_images = len(self._image_index)
        per_image = self._per_image
        picked = [per_image[b * n_images + i] for b in range(self._blocks) for i in positions.tolist()]
        params = copy.copy(self._params)
        params.imgIds = list(range(len(positions)))
        precision = np.asarray(self._accumulate(params, picked)["precision"])
        return _per_category_ap(precision, list(self._params.catIds), self._cat_ids)


def _detections_per_image(gt: dict[str, Any], predictions: list[dict[str, Any]], cat_to_label: dict[int, int]):
    """Ground truth and predictions as supervision Detections, one pair per image, in label space."""
    import supervision as sv

    def to_detections(items: list[dict[str, Any]], scored: bool):
        if not items:
            return sv.Detections.empty()
        xywh = np.array([i["bbox"] for i in items], dtype=float)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        labels = np.array([cat_to_label[i["category_id"]] for i in items])
        scores = np.array([i["score"] for i in items]) if scored else None
        return sv.Detections(xyxy=xyxy, class_id=labels, confidence=scores)

    truth: dict[int, list] = {img["id"]: [] for img in gt["images"]}
    for a in gt["annotations"]:
        if a["category_id"] in cat_to_label and not a.get("iscrowd", 0):
            truth[a["image_id"]].append(a)
    predicted: dict[int, list] = {img_id: [] for img_id in truth}
    for p in predictions:
        predicted[p["image_id"]].append(p)
    ids = sorted(truth)
    return [to_detections(predicted[i], True) for i in ids], [to_detections(truth[i], False) for i in ids]


def counts_at(matrix: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP and FN per class from a supervision confusion matrix (rows: truth, columns: predicted,
    last row/column: background)."""
    tp = np.diag(matrix)[:n_classes].astype(float)
    fp = matrix[:, :n_classes].sum(axis=0) - tp
    fn = matrix[:n_classes, :].sum(axis=1) - tp
    return tp, fp, fn


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else 0.0


def evaluate(
    gt: dict[str, Any],
    predictions: list[dict[str, Any]],
    class_names: list[str],
    iou_threshold: float = schema_default("evaluation.iou_threshold"),
) -> tuple[dict[str, Any], Any]:
    """Every held-out metric, and supervision's confusion matrix at the best-F1 threshold; a
    prediction matches a box at `iou_threshold` for P, R, F1 and the matrix (AP is COCO's)."""
    from supervision.metrics.detection import ConfusionMatrix

    label_map = label_to_category(class_names, gt["categories"], "the test split")
    cat_to_label = {c: label for label, c in label_map.items()}
    ap = coco_ap(gt, predictions)
    preds, truth = _detections_per_image(gt, predictions, cat_to_label)
    n = len(class_names)
    best = None
    for threshold in F1_THRESHOLDS:
        cm = ConfusionMatrix.from_detections(preds, truth, class_names, conf_threshold=threshold, iou_threshold=iou_threshold)
        tp, fp, fn = counts_at(cm.matrix, n)
        f1 = _ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum())
        if best is None or f1 > best[0]:
            best = (f1, threshold, cm, tp, fp, fn)
    f1, threshold, cm, tp, fp, fn = best
    gt_counts = {c: 0 for c in class_names}
    for a in gt["annotations"]:
        if a["category_id"] in cat_to_label:
            gt_counts[class_names[cat_to_label[a["category_id"]]]] += 1
    per_class = {}
    for label, name in enumerate(class_names):
        cat = label_map[label]
        per_class[name] = {
            "category_id": cat,
            "AP_50_95": ap["per_category"][cat]["AP_50_95"],
            "AP_50": ap["per_category"][cat]["AP_50"],
            "precision": _ratio(tp[label], tp[label] + fp[label]),
            "recall": _ratio(tp[label], tp[label] + fn[label]),
            "f1": _ratio(2 * tp[label], 2 * tp[label] + fp[label] + fn[label]),
            "ground_truth": gt_counts[name],
            "predicted": int(tp[label] + fp[label]),
            "true_positives": int(tp[label]),
        }
    metrics = {
        "schema_version": METRICS_SCHEMA_VERSION,
        "images": len(gt["images"]),
        "mAP_50_95": ap["mAP_50_95"],
        "mAP_50": ap["mAP_50"],
        "best_f1_threshold": threshold,
        "f1": f1,
        "precision": _ratio(tp.sum(), tp.sum() + fp.sum()),
        "recall": _ratio(tp.sum(), tp.sum() + fn.sum()),
        "iou_threshold": iou_threshold,
        "per_class": per_class,
        "confusion_matrix": {
            "labels": [*class_names, "background"],
            "rows": "ground truth",
            "columns": "predicted",
            "matrix": cm.matrix.astype(int).tolist(),
        },
    }
    return metrics, cm


def run_evaluation(
    checkpoint: str | Path,
    annotations: str | Path,
    metrics_path: str | Path,
    predictions_path: str | Path,
    confusion_png: str | Path,
    batch_size: int = schema_default("inference.batch_size"),
    log: Callable[[str], None] = print,
    iou_threshold: float = schema_default("evaluation.iou_threshold"),
) -> dict[str, Any]:
    """Predict on the test split and write metrics.json, predictions.json and the confusion matrix PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gt = json.loads(Path(annotations).read_text())
    class_names, predictions = predict_split(checkpoint, annotations, gt, batch_size, log)
    metrics, cm = evaluate(gt, predictions, class_names, iou_threshold)
    metrics["checkpoint"] = str(checkpoint)
    metrics["test_annotations"] = str(annotations)
    figure = cm.plot(title=f"test split: confidence >= {metrics['best_f1_threshold']}, IoU {iou_threshold}", fig_size=(6, 5))
    figure.savefig(confusion_png, dpi=100, bbox_inches="tight")
    plt.close(figure)
    Path(predictions_path).write_text(json.dumps(predictions) + "\n")
    Path(metrics_path).write_text(json.dumps(metrics, indent=2) + "\n")
    log(
        f"test split: mAP50:95 {metrics['mAP_50_95']:.4f}, mAP50 {metrics['mAP_50']:.4f}, "
        f"best F1 {metrics['f1']:.3f} at confidence {metrics['best_f1_threshold']}"
    )
    return metrics


def evaluation_inputs(checkpoint: str | Path, annotations: str | Path) -> list[Path]:
    """Every file an evaluation reads: the checkpoint, the split's annotations and its images."""
    annotations = Path(annotations)
    images = json.loads(annotations.read_text())["images"]
    return [
        Path(checkpoint),
        annotations,
        *(annotations.parent / i["file_name"] for i in sorted(images, key=lambda i: i["file_name"])),
    ]


def run_evaluation_or_reuse(
    checkpoint: str | Path,
    annotations: str | Path,
    outputs: dict[str, Path],
    batch_size: int = schema_default("inference.batch_size"),
    log: Callable[[str], None] = print,
    iou_threshold: float = schema_default("evaluation.iou_threshold"),
) -> None:
    """run_evaluation, or its outputs (`metrics`, `predictions`, `confusion_matrix`) linked again from
    a result made from the same checkpoint, test split, settings, code and device."""
    from ..codeversion import script_behaviour
    from .reuse import environment, run_or_reuse, verified_checkpoint
    from ..device import pick_device

    settings = {"batch_size": batch_size, "iou_threshold": iou_threshold, **environment(pick_device())}
    verified_checkpoint(checkpoint)
    run_or_reuse(
        outputs,
        evaluation_inputs(checkpoint, annotations),
        settings,
        script_behaviour("evaluate.py"),
        lambda: run_evaluation(
            checkpoint,
            annotations,
            outputs["metrics"],
            outputs["predictions"],
            outputs["confusion_matrix"],
            batch_size,
            log,
            iou_threshold,
        ),
        log,
    )
