"""Named factories for the normalisation layers and weight initialisation the pix2pix family shares."""
from __future__ import annotations

import functools
import typing
from typing import Literal

from torch import nn

from benchmark.errors import UsageError

Norm = Literal["batch", "instance", "none"]
NORMS = typing.get_args(Norm)


def norm_layer(kind: str) -> type[nn.Module] | functools.partial | None:
    """pix2pix conventions: batch norm with affine parameters, instance norm without (and no running stats)."""
    if kind == "batch":
        return nn.BatchNorm2d
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if kind == "none":
        return None
    raise UsageError(f"model.norm={kind!r} is not one of {', '.join(NORMS)}")


def conv_bias(kind: str) -> bool:
    """A conv followed by batch norm needs no bias (the norm's shift replaces it); instance norm has none."""
    return kind != "batch"


def init_normal(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Weights from N(0, 0.02), norm scales from N(1, 0.02), biases 0 (Isola et al. 2017; Zhu et al. 2017)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module
