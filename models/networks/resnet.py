"""ResNet-152 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016) as a feature
extractor for perceptual losses.

Why our own: torchvision is not a dependency, but the ImageNet weights are published as the torchvision
checkpoint ``resnet152-394f9c45.pth``. Module names follow torchvision exactly (``conv1``, ``bn1``,
``layer<k>.<i>.conv<j>``/``bn<j>``, ``layer<k>.0.downsample.{0,1}``, ``fc``) so that file loads with
``strict=True``. Like torchvision (the "ResNet v1.5" variant) the stride of a down-sampling bottleneck
sits on its 3x3 conv, not on the first 1x1 as in the paper.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

#: Top-level children in forward order; ``features_at`` stops after the named one.
STAGES: tuple[str, ...] = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (stride) -> 1x1 expand (x4), each with BN; projection shortcut when shapes change."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        width = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, width, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != width:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet(nn.Module):
    """Bottleneck ResNet with torchvision's state-dict layout; ``features_at`` runs up to a stage."""

    def __init__(
        self, layers: tuple[int, int, int, int], in_channels: int = 3, num_classes: int = 1000
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes = 64
        for k, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers), start=1):
            stride = 1 if k == 1 else 2
            stage = []
            for i in range(blocks):
                stage.append(Bottleneck(inplanes, planes, stride if i == 0 else 1))
                inplanes = planes * Bottleneck.expansion
            setattr(self, f"layer{k}", nn.Sequential(*stage))
        self.avgpool: nn.Module | None = nn.AdaptiveAvgPool2d((1, 1))
        self.fc: nn.Module | None = nn.Linear(inplanes, num_classes)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """torchvision's ResNet initialisation; pass a seeded ``generator`` for reproducible weights."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=generator)
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()  # weight 1, bias 0, running stats reset
            elif isinstance(m, nn.Linear):  # nn.Linear's default, made seedable
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                bound = 1.0 / math.sqrt(m.in_features)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)

    def _check_stage(self, stage: str) -> None:
        if stage not in STAGES:
            raise ValueError(f"ResNet has no stage {stage!r}; valid: {', '.join(STAGES)}")
        if getattr(self, stage, None) is None:
            raise ValueError(f"this ResNet was truncated before {stage!r}")

    def extractor(self, stage: str) -> nn.Sequential:
        """The stages up to ``stage`` as one Sequential (the same module objects, not copies)."""
        self._check_stage(stage)
        names = STAGES[: STAGES.index(stage) + 1]
        return nn.Sequential(OrderedDict((name, getattr(self, name)) for name in names))

    def features_at(self, x: torch.Tensor, stage: str) -> torch.Tensor:
        """Activations after ``stage`` (e.g. ``layer2``, ``layer3``); later stages are not run."""
        return self.extractor(stage)(x)

    def truncate(self, stage: str) -> ResNet:
        """Delete every stage after ``stage`` and the head (in place, after loading weights)."""
        self._check_stage(stage)
        for name in STAGES[STAGES.index(stage) + 1 :]:  # None keeps them out of state_dict()
            setattr(self, name, None)
        return self.drop_head()

    def drop_head(self) -> ResNet:
        """Remove avgpool + fc (2.05 M parameters); feature use only."""
        self.avgpool = None
        self.fc = None
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fc is None or self.avgpool is None:
            raise RuntimeError("this ResNet's classifier head was dropped; use features_at()")
        return self.fc(torch.flatten(self.avgpool(self.features_at(x, "layer4")), 1))


class ResNet152(ResNet):
    """ResNet-152: bottleneck stages of [3, 8, 36, 3] blocks; 60,192,808 parameters at 1000 classes."""

    def __init__(self, in_channels: int = 3, num_classes: int = 1000) -> None:
        super().__init__((3, 8, 36, 3), in_channels=in_channels, num_classes=num_classes)
