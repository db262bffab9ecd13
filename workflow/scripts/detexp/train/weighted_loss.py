"""A class-weighted classification loss for rfdetr, through its own extension points.

rfdetr (checked against 1.11.2) builds its loss, `SetCriterion`, in `RFDETRModelModule.__init__` by
calling `build_criterion_from_config`, a name of `rfdetr.training.module_model`. While a training
runs under `class_weighted_training`, that name returns a `ClassWeightedCriterion` instead: a
subclass whose `loss_labels` computes rfdetr's default classification loss (IoU-aware BCE) element
by element, checks once that the unweighted sum equals rfdetr's own value, and multiplies each
matched query's terms (every class column) by the weight of its ground-truth class (Cui et al.,
2019: a sample's loss weighted by its class). Unmatched queries keep weight 1. rfdetr's own files
are neither changed nor copied; where its internals moved, the training fails at its start or first
batch, saying what moved.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Any, Callable, Iterator

# The names rfdetr's loss_labels takes, in order: a change means its internals moved.
LOSS_LABELS_PARAMETERS = ("self", "outputs", "targets", "indices", "num_boxes", "log", "matched_targets")
# The criterion attributes this module reads.
CRITERION_ATTRIBUTES = ("num_classes", "focal_alpha", "ia_bce_loss", "use_varifocal_loss", "use_position_supervised_loss")


class RfdetrChangedError(RuntimeError):
    """rfdetr's training internals are not where this module expects them (another rfdetr version)."""


def _moved(what: str) -> RfdetrChangedError:
    from importlib.metadata import version

    return RfdetrChangedError(
        f"class_loss_weights: {what} (rfdetr {version('rfdetr')}; the class-weighted loss was written against "
        "rfdetr 1.11.2) - pin rfdetr 1.11.x, or drop class_loss_weights from the experiment"
    )


def ia_bce_elements(criterion: Any, outputs: dict[str, Any], targets: list[dict[str, Any]], indices: list[Any], matched: Any):
    """rfdetr's IoU-aware BCE classification loss before its sum, [batch, queries, classes + 1], and the
    matched (batch, query) indices with their ground-truth labels. Per element, with p = sigmoid(logit):
    -t log p - (1 - t) log(1 - p) at a matched query's ground-truth class, where t = max(0.01,
    p^alpha IoU^(1 - alpha)) (detached); -p^2 log(1 - p) everywhere else."""
    import torch
    import torch.nn.functional as F
    from rfdetr.utilities import box_ops

    logits = outputs["pred_logits"]
    if matched is None:
        idx = criterion._get_src_permutation_idx(indices)
        labels = torch.cat([t["labels"][j] for t, (_, j) in zip(targets, indices)])
        boxes = torch.cat([t["boxes"][j] for t, (_, j) in zip(targets, indices)], dim=0)
    else:
        idx, labels, boxes = matched.source_indices, matched.labels, matched.boxes
    ious, _ = box_ops.elementwise_box_iou(
        box_ops.box_cxcywh_to_xyxy(outputs["pred_boxes"][idx].detach()), box_ops.box_cxcywh_to_xyxy(boxes)
    )
    prob = logits.sigmoid()
    positive = (*idx, labels)
    t = torch.clamp(prob[positive].pow(criterion.focal_alpha) * ious.detach().pow(1 - criterion.focal_alpha), 0.01).detach()
    pos_weights = torch.zeros_like(logits)
    neg_weights = prob**2
    pos_weights[positive] = t.to(pos_weights.dtype)
    neg_weights[positive] = 1 - t.to(neg_weights.dtype)
    return neg_weights * logits - F.logsigmoid(logits) * (pos_weights + neg_weights), idx, labels


def weighted_loss_ce(elements: Any, idx: Any, labels: Any, class_weights: Any, num_boxes: Any) -> Any:
    """sum over (batch, query, class) of w[query] x element / num_boxes, where w is the weight of the
    query's ground-truth class for a matched query and 1 otherwise."""
    import torch

    row_weights = torch.ones(elements.shape[:2], dtype=elements.dtype, device=elements.device)
    row_weights[idx] = class_weights.to(elements.device, elements.dtype)[labels]
    return (elements * row_weights.unsqueeze(-1)).sum() / num_boxes


@functools.cache
def _criterion_class() -> type:
    from rfdetr.models.criterion import SetCriterion

    class ClassWeightedCriterion(SetCriterion):
        """rfdetr's SetCriterion with each matched query's classification loss weighted by its class."""

        class_weights: Any
        runs: dict[str, int]

        def loss_labels(self, outputs, targets, indices, num_boxes, log=True, matched_targets=None):
            if targets and "valid" in targets[0]:
                raise _moved("padded targets (pad_targets_to) reached the loss: not supported with class weights")
            stock = super().loss_labels(outputs, targets, indices, num_boxes, log=log, matched_targets=matched_targets)
            elements, idx, labels = ia_bce_elements(self, outputs, targets, indices, matched_targets)
            if elements.shape[-1] != self.class_weights.numel() + 1:
                raise _moved(f"the model has {elements.shape[-1]} class logits, not {self.class_weights.numel()} classes + 1")
            if not self.runs["checked"]:
                import torch

                ours, theirs = (elements.sum() / num_boxes).detach().float(), stock["loss_ce"].detach().float()
                if not torch.allclose(ours, theirs, rtol=1e-4, atol=1e-6):
                    raise _moved(f"its IoU-aware BCE loss changed ({theirs.item():.6g}, here {ours.item():.6g})")
                self.runs["checked"] = 1
            stock["loss_ce"] = weighted_loss_ce(elements, idx, labels, self.class_weights, num_boxes)
            self.runs["calls"] += 1
            return stock

    return ClassWeightedCriterion


def class_weighted(criterion: Any, weights: list[float], runs: dict[str, int]) -> Any:
    """The criterion rfdetr built, as a ClassWeightedCriterion with `weights` (in label order)."""
    import torch
    from rfdetr.models.criterion import SetCriterion

    if type(criterion) is not SetCriterion:
        raise _moved(f"its loss is a {type(criterion).__name__}, not rfdetr's SetCriterion")
    missing = [a for a in CRITERION_ATTRIBUTES if not hasattr(criterion, a)]
    if missing:
        raise _moved(f"SetCriterion has no {', '.join(missing)}")
    if not criterion.ia_bce_loss or criterion.use_varifocal_loss or criterion.use_position_supervised_loss:
        raise _moved("the model's classification loss is not IoU-aware BCE (ia_bce_loss), the only one weighted here")
    cls = _criterion_class()
    weighted = cls.__new__(cls)
    weighted.__dict__.update(criterion.__dict__)  # the same module state: matcher, weights, flags
    weighted.class_weights = torch.tensor(weights, dtype=torch.float32)
    weighted.runs = runs
    return weighted


@contextlib.contextmanager
def class_weighted_training(weights: list[float], log: Callable[[str], None] = print) -> Iterator[dict[str, int]]:
    """While inside, every rfdetr training weights its classification loss by class (`weights`, in the
    model's label order); afterwards, checks that the weighted loss ran. Raises RfdetrChangedError
    before any training where rfdetr's internals moved."""
    import rfdetr.training.module_model as module_model
    from rfdetr.detr import RFDETR
    from rfdetr.models.criterion import SetCriterion

    if tuple(inspect.signature(SetCriterion.loss_labels).parameters) != LOSS_LABELS_PARAMETERS:
        raise _moved("SetCriterion.loss_labels takes other arguments")
    if "build_criterion_from_config(" not in inspect.getsource(module_model.RFDETRModelModule.__init__):
        raise _moved("RFDETRModelModule no longer builds its loss with build_criterion_from_config")
    if "RFDETRModelModule(" not in inspect.getsource(RFDETR.train):
        raise _moved("RFDETR.train no longer trains an RFDETRModelModule")
    build = module_model.build_criterion_from_config
    runs = {"built": 0, "checked": 0, "calls": 0}

    def build_weighted(*args: Any, **kwargs: Any) -> Any:
        criterion, postprocess = build(*args, **kwargs)
        runs["built"] += 1
        return class_weighted(criterion, weights, runs), postprocess

    module_model.build_criterion_from_config = build_weighted
    try:
        yield runs
    finally:
        module_model.build_criterion_from_config = build
    if not runs["calls"]:
        raise _moved("the weighted classification loss never ran during the training")
    log(f"class-weighted classification loss: {runs['calls']} loss evaluations, checked against rfdetr's own")
