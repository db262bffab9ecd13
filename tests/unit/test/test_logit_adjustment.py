"""logit_adjustment: scores re-weighted by training priors, against a hand computation."""

from __future__ import annotations

import math

import pytest

from detexp.test.logit_adjustment import adjust_predictions, adjusted_score, class_priors

STATS = {
    "splits": {
        "train": {
            "classes": {
                "crane hook": {"frames": 30, "instances": 30, "effective_instances": 30},
                "person": {"frames": 5, "instances": 8, "effective_instances": 10},  # repeated frames counted
            }
        }
    }
}


def test_priors_are_shares_of_training_boxes_with_copies_counted():
    assert class_priors(STATS) == {"crane hook": 0.75, "person": 0.25}


def test_adjusted_scores_against_a_hand_computation():
    # person: prior 0.25, tau 1: logit(0.2) = log(0.25) = -1.3863; minus log(0.25) -> 0: sigmoid 0.5
    assert adjusted_score(0.2, 0.25, 1.0) == pytest.approx(0.5, abs=1e-12)
    # crane hook: prior 0.75, tau 0.5: logit(0.6) = log(1.5); minus 0.5 log(0.75): sigmoid(0.5493)
    expected = 1 / (1 + math.exp(-(math.log(1.5) - 0.5 * math.log(0.75))))
    assert adjusted_score(0.6, 0.75, 0.5) == pytest.approx(expected, abs=1e-12) and expected == pytest.approx(0.6340, abs=1e-4)
    predictions = [{"image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1], "score": 0.2}]
    adjusted = adjust_predictions(predictions, class_priors(STATS), {1: "crane hook", 2: "person"}, 1.0)
    assert adjusted[0]["score"] == pytest.approx(0.5) and predictions[0]["score"] == 0.2  # the input is kept


def test_tau_zero_leaves_every_score_bit_identical():
    scores = [0.001, 0.0123456789, 0.5, 0.987654321, 1.0, 0.0]
    predictions = [{"image_id": 1, "category_id": 1 + i % 2, "bbox": [0, 0, 1, 1], "score": s} for i, s in enumerate(scores)]
    adjusted = adjust_predictions(predictions, class_priors(STATS), {1: "crane hook", 2: "person"}, 0.0)
    assert [p["score"] for p in adjusted] == scores


def test_adjustment_moves_f1_but_never_coco_ap():
    """COCO AP ranks each class's detections on their own (its 100 per image too), which a per-class
    rescoring keeps in order: AP stays. A threshold sees the new scores: here the rare class A's hit
    (0.3) and B's hit (0.6) pass 0.6 only after adjustment, and no B miss (0.5) does."""
    from detexp.test.logit_adjustment import evaluate_adjusted

    gt = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 1000, "height": 1000}],
        "categories": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [50, 50, 20, 20], "area": 400, "iscrowd": 0},
        ],
    }
    b_hit = [{"image_id": 1, "category_id": 2, "bbox": [50, 50, 20, 20], "score": 0.6}]
    b_misses = [{"image_id": 1, "category_id": 2, "bbox": [100 + 8 * i, 500, 5, 5], "score": 0.5} for i in range(120)]
    a_hit = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.3}]
    predictions = b_hit + b_misses + a_hit
    stats = {"classes": ["A", "B"], "splits": {"train": {"classes": {"A": {"instances": 1}, "B": {"instances": 9}}}}}
    plain = evaluate_adjusted(gt, predictions, stats, 0.0, 0.5)
    # tau 1: A 0.3 -> sigmoid(logit(0.3) - log 0.1) = 0.81; B 0.6 -> 0.625, 0.5 -> sigmoid(-log 0.9) = 0.526
    adjusted = evaluate_adjusted(gt, predictions, stats, 1.0, 0.5)
    for c in ("A", "B"):
        assert adjusted["per_class"][c]["AP_50_95"] == plain["per_class"][c]["AP_50_95"]
    # without: the best threshold keeps B's hit alone (TP 1, FN 1): F1 2/3; with: A and B hits (F1 1)
    assert plain["f1"] == pytest.approx(2 / 3) and adjusted["f1"] == pytest.approx(1.0)
    assert adjusted["per_class"]["A"]["f1"] == pytest.approx(1.0) and plain["per_class"]["A"]["f1"] == 0.0
    assert adjusted["logit_adjustment"] == {"tau": 1.0, "priors": {"A": 0.1, "B": 0.9}}
