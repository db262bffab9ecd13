"""Per-class weights of the classification loss (an experiment's class_loss_weights), from the run's
training instances: repeated frames count once per copy, as the training sees them."""

from __future__ import annotations

from typing import Any

METHODS = ("effective_number", "inverse_frequency")


def training_instances(annotations: dict[str, Any], classes: list[str]) -> dict[str, int]:
    """Boxes per class in a training COCO file (a repeated frame's entries count once per copy)."""
    name_of = {c["id"]: c["name"] for c in annotations["categories"]}
    counts = dict.fromkeys(classes, 0)
    for ann in annotations["annotations"]:
        name = name_of[ann["category_id"]]
        if name in counts:
            counts[name] += 1
    return counts


def class_loss_weights(spec: dict[str, Any], instances: dict[str, int], classes: list[str]) -> dict[str, float]:
    """The weight of each class, scaled so that the weights sum to the number of classes.

    effective_number (Cui et al., CVPR 2019): (1 - beta) / (1 - beta^n_c);
    inverse_frequency: n_c^-power; otherwise `spec` is a map class -> weight (1 for a class it leaves out).
    n_c is the class's number of training instances."""
    method = spec.get("method")
    if method is None:
        raw = {c: float(spec.get(c, 1.0)) for c in classes}
    else:
        empty = [c for c in classes if instances[c] < 1]
        if empty:
            raise ValueError(
                f"class_loss_weights: {method} needs training instances of every class; {', '.join(map(repr, empty))} has none"
            )
        if method == "effective_number":
            beta = float(spec["beta"])
            raw = {c: (1 - beta) / (1 - beta ** instances[c]) for c in classes}
        elif method == "inverse_frequency":
            raw = {c: float(instances[c]) ** -float(spec["power"]) for c in classes}
        else:
            raise ValueError(f"class_loss_weights.method: {method!r} is not allowed - one of: {', '.join(METHODS)}")
    scale = len(classes) / sum(raw.values())
    return {c: raw[c] * scale for c in classes}
