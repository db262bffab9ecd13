"""Post-hoc logit adjustment (Menon et al., ICLR 2021; for sigmoid detectors, FRACAL, arXiv 2410.11774):
a finished model's class scores re-weighted by the class priors of its training split, no retraining.

Each detection's score s of class c becomes sigmoid(logit(s) - tau log prior_c), prior_c being the
share of the training split's boxes (repeated frames counted once per copy) that are of class c: a
rare class's scores rise, a frequent class's fall. It acts on the detections the model kept (rfdetr
keeps its top-scoring query-class pairs before any adjustment), so a candidate rfdetr dropped stays
dropped. COCO AP cannot move (see evaluate_adjusted): the adjustment shows in thresholded metrics.
In video inference (LogitAdjustment) the model's kept detections are adjusted before the confidence
threshold, so a rare class's detections below it can pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Scores are clipped this far from 0 and 1 before their logit is taken (a score of exactly 0 or 1
# has none).
SCORE_EPSILON = 1e-7


def class_priors(dataset_stats: dict[str, Any]) -> dict[str, float]:
    """Each class's share of the training split's boxes, repeated frames counted once per copy."""
    per_class = dataset_stats["splits"]["train"]["classes"]
    counts = {c: s.get("effective_instances", s["instances"]) for c, s in per_class.items()}
    total = sum(counts.values())
    return {c: n / total for c, n in counts.items()}


def adjusted_scores(scores: np.ndarray, priors: np.ndarray, tau: float) -> np.ndarray:
    """sigmoid(logit(score) - tau log prior), element by element; the scores themselves, bit for bit,
    at tau 0."""
    if tau == 0:
        return scores
    s = np.clip(np.asarray(scores, dtype=np.float64), SCORE_EPSILON, 1 - SCORE_EPSILON)
    logit = np.log(s / (1 - s)) - tau * np.log(np.asarray(priors, dtype=np.float64))
    return 1 / (1 + np.exp(-logit))


def adjusted_score(score: float, prior: float, tau: float) -> float:
    """adjusted_scores for one score."""
    return score if tau == 0 else float(adjusted_scores(np.array([score]), np.array([prior]), tau)[0])


@dataclass(frozen=True)
class LogitAdjustment:
    """The adjustment applied in video inference: tau and the run's training priors per class."""

    tau: float
    priors: dict[str, float]

    @classmethod
    def of_run(cls, tau: float, dataset_stats: dict[str, Any]) -> "LogitAdjustment":
        return cls(tau, class_priors(dataset_stats))

    def scores(self, scores: np.ndarray, class_ids: np.ndarray, class_names: list[str]) -> np.ndarray:
        """The scores of detections of these 0-based labels (indices into class_names), adjusted."""
        missing = sorted({class_names[int(c)] for c in class_ids} - set(self.priors))
        if missing:
            raise ValueError(f"no training prior for class(es) {', '.join(missing)}")
        return adjusted_scores(scores, np.array([self.priors[class_names[int(c)]] for c in class_ids]), self.tau)


def adjust_predictions(
    predictions: list[dict[str, Any]], priors: dict[str, float], category_names: dict[int, str], tau: float
) -> list[dict[str, Any]]:
    """COCO-format predictions with each score adjusted by the prior of its category's class."""
    missing = sorted({category_names[p["category_id"]] for p in predictions} - set(priors))
    if missing:
        raise ValueError(f"no training prior for class(es) {', '.join(missing)}")
    return [{**p, "score": adjusted_score(p["score"], priors[category_names[p["category_id"]]], tau)} for p in predictions]


def evaluate_adjusted(
    gt: dict[str, Any], predictions: list[dict[str, Any]], dataset_stats: dict[str, Any], tau: float, iou_threshold: float
) -> dict[str, Any]:
    """The test metrics of the adjusted predictions, as evaluation.evaluate gives them, with the priors
    and tau. COCO AP does not move: it ranks each class's detections on their own (its cap of 100 per
    image is per class too), and the adjustment rescales a class's scores in order. What moves is
    which detections pass a confidence threshold: F1, precision, recall and their best threshold."""
    from .evaluation import evaluate

    names = {int(c["id"]): c["name"] for c in gt["categories"]}
    priors = class_priors(dataset_stats)
    adjusted = adjust_predictions(predictions, priors, names, tau)
    metrics, _ = evaluate(gt, adjusted, list(dataset_stats["classes"]), iou_threshold)
    metrics["logit_adjustment"] = {"tau": tau, "priors": priors}
    return metrics
