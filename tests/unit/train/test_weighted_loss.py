"""loss_weights and weighted_loss: class weights by method against hand-computed values, and rfdetr's
own criterion weighted on fixed batches (all ones: rfdetr's loss; else a hand computation)."""

from __future__ import annotations

import math

import pytest
import torch

from detexp.train.loss_weights import class_loss_weights, training_instances
from detexp.train.weighted_loss import RfdetrChangedError, class_weighted, class_weighted_training

ABC = ["A", "B", "C"]
INSTANCES = {"A": 1, "B": 10, "C": 100}  # A: a class with one instance


@pytest.mark.parametrize(
    "spec, expected",
    [
        # (1 - 0.9) / (1 - 0.9^n): A 1, B 0.1 / (1 - 0.3486784401) = 0.1535340, C 0.1 / (1 - 2.66e-5) = 0.1000027;
        # sum 1.2535367, scaled by 3 / sum
        ({"method": "effective_number", "beta": 0.9}, {"A": 2.3932288, "B": 0.3674420, "C": 0.2393292}),
        # n^-0.5: 1, 0.3162278, 0.1; sum 1.4162278, scaled by 3 / sum
        ({"method": "inverse_frequency", "power": 0.5}, {"A": 2.1183033, "B": 0.6698663, "C": 0.2118303}),
        # by hand: 1, 2, 1 scaled by 3 / 4
        ({"B": 2.0}, {"A": 0.75, "B": 1.5, "C": 0.75}),
    ],
)
def test_weights_by_method_against_hand_computed_values(spec, expected):
    weights = class_loss_weights(spec, INSTANCES, ABC)
    assert weights == pytest.approx(expected, abs=1e-6)
    assert sum(weights.values()) == pytest.approx(3)


def test_a_class_without_training_instances_gets_no_derived_weight():
    with pytest.raises(ValueError, match="'C' has none"):
        class_loss_weights({"method": "inverse_frequency", "power": 1.0}, {"A": 3, "B": 1, "C": 0}, ABC)


def test_training_instances_count_every_entry_of_a_repeated_frame():
    coco = {
        "categories": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}, {"id": 3, "name": "C"}],
        "annotations": [{"category_id": c} for c in (1, 2, 2, 2, 3)],  # a frame with 2 B boxes, repeated
    }
    assert training_instances(coco, ABC) == {"A": 1, "B": 3, "C": 1}


def stock_criterion():
    """rfdetr's own loss for 3 classes (4 logit columns: the last is its no-object slot)."""
    from rfdetr.config import RFDETRNanoConfig, TrainConfig
    from rfdetr.models import build_criterion_from_config

    criterion, _ = build_criterion_from_config(
        RFDETRNanoConfig(num_classes=3, pretrain_weights=None), TrainConfig(dataset_dir=".", output_dir=".")
    )
    return criterion


def random_batch(seed: int = 0):
    """2 images, 6 queries, boxes matched by hand: image 0 holds A and C, image 1 holds B."""
    g = torch.Generator().manual_seed(seed)
    outputs = {"pred_logits": torch.randn(2, 6, 4, generator=g), "pred_boxes": torch.rand(2, 6, 4, generator=g) * 0.4 + 0.3}
    targets = [
        {"labels": torch.tensor([0, 2]), "boxes": torch.tensor([[0.4, 0.5, 0.2, 0.3], [0.6, 0.4, 0.3, 0.2]])},
        {"labels": torch.tensor([1]), "boxes": torch.tensor([[0.5, 0.5, 0.4, 0.4]])},
    ]
    indices = [(torch.tensor([1, 4]), torch.tensor([0, 1])), (torch.tensor([2]), torch.tensor([0]))]
    return outputs, targets, indices


def test_all_ones_weights_give_rfdetrs_own_loss():
    stock = stock_criterion()
    weighted = class_weighted(stock_criterion(), [1.0, 1.0, 1.0], {"built": 1, "checked": 0, "calls": 0})
    for seed in range(3):
        outputs, targets, indices = random_batch(seed)
        ours = weighted.loss_labels(outputs, targets, indices, torch.tensor(3.0))
        theirs = stock.loss_labels(outputs, targets, indices, torch.tensor(3.0))
        assert torch.equal(ours["loss_ce"], theirs["loss_ce"]), seed


def test_a_weighted_loss_on_a_fixed_batch_matches_a_hand_computation():
    logits = [[0.5, -1.0, 2.0, -3.0], [-0.2, 0.3, -1.5, 0.0]]
    outputs = {
        "pred_logits": torch.tensor([logits]),
        "pred_boxes": torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.3, 0.3, 0.1, 0.1]]]),  # query 0 on the box: IoU 1
    }
    targets = [{"labels": torch.tensor([1]), "boxes": torch.tensor([[0.5, 0.5, 0.2, 0.2]])}]
    indices = [(torch.tensor([0]), torch.tensor([0]))]
    weights = [0.5, 2.0, 0.5]
    runs = {"built": 1, "checked": 0, "calls": 0}
    loss = class_weighted(stock_criterion(), weights, runs).loss_labels(outputs, targets, indices, torch.tensor(1.0))

    def p(x):
        return 1 / (1 + math.exp(-x))

    def negative(x):  # -p^2 log(1 - p): every column but a match's class
        return -(p(x) ** 2) * math.log(1 - p(x))

    t = max(0.01, p(-1.0) ** 0.25 * 1.0**0.75)  # the match: class B (column 1), IoU 1, alpha 0.25
    matched = -t * math.log(p(-1.0)) - (1 - t) * math.log(1 - p(-1.0))
    query0 = matched + sum(negative(x) for c, x in enumerate(logits[0]) if c != 1)
    query1 = sum(negative(x) for x in logits[1])
    assert loss["loss_ce"].item() == pytest.approx(weights[1] * query0 + 1.0 * query1, rel=1e-5)
    assert runs == {"built": 1, "checked": 1, "calls": 1}


def test_rfdetr_internals_that_moved_fail_loudly(monkeypatch):
    from rfdetr.models.criterion import SetCriterion

    original = SetCriterion.loss_labels

    def doubled(self, outputs, targets, indices, num_boxes, log=True, matched_targets=None):
        result = original(self, outputs, targets, indices, num_boxes, log, matched_targets)
        return {**result, "loss_ce": 2 * result["loss_ce"]}

    monkeypatch.setattr(SetCriterion, "loss_labels", doubled)  # rfdetr's formula changed
    weighted = class_weighted(stock_criterion(), [1.0, 1.0, 1.0], {"built": 1, "checked": 0, "calls": 0})
    with pytest.raises(RfdetrChangedError, match="its IoU-aware BCE loss changed .* pin rfdetr 1.11.x"):
        weighted.loss_labels(*random_batch(), torch.tensor(3.0))

    monkeypatch.setattr(SetCriterion, "loss_labels", lambda self, outputs, targets, indices, num_boxes, matched=None: {})
    with pytest.raises(RfdetrChangedError, match="loss_labels takes other arguments"):
        with class_weighted_training([1.0, 1.0, 1.0]):
            pass
