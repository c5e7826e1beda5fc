"""VGG-16/19 (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015, configurations D and E) as a feature extractor for perceptual losses.

Why our own: torchvision is not a dependency, yet perceptual losses need the ImageNet weights that are
published as torchvision checkpoints. The module tree therefore reproduces torchvision's exactly:
``features.<i>`` (conv, ReLU and max-pool at the same indices), ``avgpool`` and ``classifier.{0,3,6}``,
so ``vgg16-397923af.pth`` / ``vgg19-dcbb9e9d.pth`` load with ``strict=True``.

Layers are also addressable by name, ``conv<b>_<i>`` / ``relu<b>_<i>`` / ``pool<b>`` (block b, conv i
within the block), the names the perceptual-loss literature uses: SRGAN's phi_5,4 ("4th convolution
(after activation) before the 5th max-pooling layer", Ledig et al., CVPR 2017) is ``relu5_4`` of VGG19;
Johnson et al. (ECCV 2016) use ``relu2_2`` of VGG16.
"""
from __future__ import annotations

import torch
from torch import nn

#: Conv widths per layer, "M" = 2x2 max-pool: torchvision's cfgs "D" (VGG16) and "E" (VGG19).
CFGS: dict[int, list[int | str]] = {
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def vgg_layer_names(depth: int) -> list[str]:
    """Name of every ``features`` index: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ..."""
    if depth not in CFGS:
        raise ValueError(f"VGG depth must be one of {sorted(CFGS)}, got {depth!r}")
    names: list[str] = []
    block, conv = 1, 0
    for item in CFGS[depth]:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            conv += 1
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
    return names


class VGG(nn.Module):
    """torchvision-compatible VGG without batch norm; ``features_at`` runs only up to the named layer."""

    def __init__(self, depth: int = 16, in_channels: int = 3, num_classes: int = 1000) -> None:
        super().__init__()
        self.depth = depth
        self.layer_names: tuple[str, ...] = tuple(vgg_layer_names(depth))
        layers: list[nn.Module] = []
        prev = in_channels
        for item in CFGS[depth]:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                # Not in-place (torchvision's are): callers may keep a conv output while later layers run.
                layers += [nn.Conv2d(prev, int(item), 3, padding=1), nn.ReLU()]
                prev = int(item)
        self.features = nn.Sequential(*layers)
        self.avgpool: nn.Module | None = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier: nn.Module | None = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),  # 25088 inputs: 512 maps pooled to 7x7
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, num_classes),
        )
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """torchvision's VGG initialisation; pass a seeded ``generator`` for reproducible weights."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=generator)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01, generator=generator)
                nn.init.zeros_(m.bias)

    def layer_index(self, layer_name: str) -> int:
        """Index in ``features`` of a layer name such as ``relu5_4``; ValueError naming the valid ones."""
        try:
            index = self.layer_names.index(layer_name)
        except ValueError:
            valid = ", ".join(n for n in self.layer_names if not n.startswith("conv"))
            raise ValueError(f"VGG{self.depth} has no layer {layer_name!r}; valid: conv*/{valid}") from None
        if index >= len(self.features):
            raise ValueError(f"VGG{self.depth} was truncated before {layer_name!r}")
        return index

    def features_at(self, x: torch.Tensor, layer_name: str) -> torch.Tensor:
        """Activations at ``layer_name`` (e.g. ``relu5_4``); later layers are not run."""
        return self.extractor(layer_name)(x)

    def extractor(self, layer_name: str) -> nn.Sequential:
        """The layers up to ``layer_name`` as one Sequential (the same module objects, not copies)."""
        return self.features[: self.layer_index(layer_name) + 1]

    def truncate(self, layer_name: str) -> VGG:
        """Drop every layer after ``layer_name`` and the classifier head (in place, after loading)."""
        self.features = self.extractor(layer_name)  # slicing keeps the index keys (features.0, ...)
        return self.drop_head()

    def drop_head(self) -> VGG:
        """Remove avgpool + classifier (123.6 M of VGG16's 138.4 M parameters); feature use only."""
        self.avgpool = None
        self.classifier = None
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.classifier is None or self.avgpool is None:
            raise RuntimeError("this VGG's classifier head was dropped; use features_at()")
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

