"""Held-out metrics on fixtures whose answers are known by hand, checked against pycocotools."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from detexp.test.evaluation import EvaluationError, coco_results, evaluate, label_to_category

CLASSES = ["crane hook", "person"]  # model label order: 0 crane hook, 1 person
# Category ids deliberately neither 0-based nor in label order: the mapping must go by name.
GT = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
        {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100},
    ],
    "categories": [{"id": 5, "name": "person"}, {"id": 9, "name": "crane hook"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 5, "bbox": [10, 10, 30, 30], "area": 900, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 9, "bbox": [50, 50, 20, 20], "area": 400, "iscrowd": 0},
        {"id": 3, "image_id": 2, "category_id": 5, "bbox": [20, 20, 40, 40], "area": 1600, "iscrowd": 0},
    ],
}
HALF_AP = 51 / 101  # COCO's 101-point AP with precision 1 up to recall 0.5 and nothing after


def perfect() -> list[dict]:
    return [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9} for a in GT["annotations"]
    ]


def pycocotools_stats(gt: dict, predictions: list[dict]) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = COCO()
    coco.dataset = copy.deepcopy(gt)
    coco.createIndex()
    evaluator = COCOeval(coco, coco.loadRes(copy.deepcopy(predictions)), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return evaluator.stats


def test_perfect_predictions_score_one_everywhere():
    metrics, _ = evaluate(GT, perfect(), CLASSES)
    assert metrics["mAP_50_95"] == pytest.approx(1.0) and metrics["mAP_50"] == pytest.approx(1.0)
    for name, cat in (("person", 5), ("crane hook", 9)):
        m = metrics["per_class"][name]
        assert m["category_id"] == cat
        assert m["AP_50_95"] == pytest.approx(1.0) and m["precision"] == 1.0 and m["recall"] == 1.0 and m["f1"] == 1.0
    assert metrics["per_class"]["person"]["ground_truth"] == 2 and metrics["per_class"]["crane hook"]["ground_truth"] == 1
    assert metrics["confusion_matrix"]["labels"] == ["crane hook", "person", "background"]
    assert metrics["confusion_matrix"]["matrix"] == [[1, 0, 0], [0, 2, 0], [0, 0, 0]]


def test_a_known_miss_and_a_false_positive_give_the_known_values():
    predictions = [p for p in perfect() if p["image_id"] == 1]  # the person of image 2 is missed
    predictions.append({"image_id": 2, "category_id": 5, "bbox": [70, 70, 10, 10], "score": 0.8})  # and a false one
    metrics, _ = evaluate(GT, predictions, CLASSES)
    person = metrics["per_class"]["person"]
    assert person["AP_50"] == pytest.approx(HALF_AP) and person["AP_50_95"] == pytest.approx(HALF_AP)
    assert metrics["per_class"]["crane hook"]["AP_50_95"] == pytest.approx(1.0)
    assert metrics["mAP_50_95"] == pytest.approx((1 + HALF_AP) / 2)
    stats = pycocotools_stats(GT, predictions)
    assert metrics["mAP_50_95"] == pytest.approx(stats[0]) and metrics["mAP_50"] == pytest.approx(stats[1])
    # Above 0.8 the false positive is gone: TP 2, FP 0, FN 1 -> F1 0.8 (with it: 4/6).
    assert metrics["best_f1_threshold"] == 0.85
    assert metrics["f1"] == pytest.approx(0.8)
    assert (person["precision"], person["recall"], person["predicted"]) == (1.0, 0.5, 1)
    assert metrics["confusion_matrix"]["matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]


def test_the_match_iou_is_a_setting_for_precision_recall_and_f1_but_not_for_ap():
    """A person box shifted by 5 px: IoU 25*30 / (2*900 - 25*30) = 0.714. A match at 0.5, not at 0.75."""
    predictions = perfect()
    predictions[0] = {**predictions[0], "bbox": [15, 10, 30, 30]}
    loose, _ = evaluate(GT, predictions, CLASSES)
    strict, _ = evaluate(GT, predictions, CLASSES, iou_threshold=0.75)
    assert (loose["iou_threshold"], strict["iou_threshold"]) == (0.5, 0.75)
    assert loose["per_class"]["person"]["recall"] == 1.0 and loose["f1"] == 1.0
    assert strict["per_class"]["person"]["recall"] == 0.5 and strict["per_class"]["person"]["precision"] == 0.5
    assert strict["confusion_matrix"]["matrix"] == [[1, 0, 0], [0, 1, 1], [0, 1, 0]]
    assert strict["per_class"]["crane hook"]["f1"] == 1.0
    assert strict["mAP_50_95"] == loose["mAP_50_95"] < 1.0 and strict["mAP_50"] == loose["mAP_50"] == pytest.approx(1.0)


def test_a_confused_class_lands_off_the_diagonal_and_matches_pycocotools():
    predictions = perfect()
    predictions[1] = {**predictions[1], "category_id": 5}  # the crane hook called a person
    metrics, _ = evaluate(GT, predictions, CLASSES)
    assert metrics["per_class"]["crane hook"]["AP_50_95"] == pytest.approx(0.0)
    assert metrics["confusion_matrix"]["matrix"][0][:2] == [0, 1]  # truth crane hook, predicted person
    stats = pycocotools_stats(GT, predictions)
    assert metrics["mAP_50_95"] == pytest.approx(stats[0]) and metrics["mAP_50"] == pytest.approx(stats[1])


def test_no_predictions_at_all_score_zero():
    metrics, _ = evaluate(GT, [], CLASSES)
    assert metrics["mAP_50_95"] == 0.0 and metrics["f1"] == 0.0 and metrics["per_class"]["person"]["recall"] == 0.0


def test_labels_map_to_category_ids_by_name_and_the_background_slot_is_dropped():
    import supervision as sv

    label_map = label_to_category(CLASSES, GT["categories"], "test.json")
    assert label_map == {0: 9, 1: 5}
    detections = sv.Detections(
        xyxy=np.array([[10.0, 10, 40, 40], [0, 0, 5, 5]]), class_id=np.array([1, 2]), confidence=np.array([0.7, 0.9])
    )
    assert coco_results(3, detections, label_map) == [
        {"image_id": 3, "category_id": 5, "bbox": [10.0, 10.0, 30.0, 30.0], "score": 0.7}
    ]
    with pytest.raises(EvaluationError, match="test.json: no category named 'forklift'"):
        label_to_category(["forklift"], GT["categories"], "test.json")
