"""The model catalogue: the RF-DETR variants `training.model` may name, and where a training starts from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelVariant:
    """One RF-DETR variant: its rfdetr class, its model config class (whose `pretrain_weights`
    default names the published checkpoint) and the multiple its resolution must be."""

    rfdetr_class: str
    rfdetr_config: str
    resolution_multiple: int


# The variants `training.model` may name (the schema's enum lists the same names; a test checks).
MODEL_VARIANTS = {
    "nano": ModelVariant("RFDETRNano", "RFDETRNanoConfig", 32),
    "small": ModelVariant("RFDETRSmall", "RFDETRSmallConfig", 32),
    "medium": ModelVariant("RFDETRMedium", "RFDETRMediumConfig", 32),
    "large": ModelVariant("RFDETRLarge", "RFDETRLargeConfig", 32),
    "base": ModelVariant("RFDETRBase", "RFDETRBaseConfig", 56),  # deprecated by rfdetr; patch 14 x 4 windows
}


def pretrain_source(value: str | None) -> str | None:
    """`training.pretrain_weights` normalised: None (from scratch), "auto" or a checkpoint path."""
    if value is None or value.strip().lower() in ("none", ""):
        return None
    return "auto" if value.strip().lower() == "auto" else value
