"""A history of generated images for the discriminator (Shrivastava et al., "Learning from Simulated and
Unsupervised Images through Adversarial Training", CVPR 2017; used by CycleGAN, Zhu et al., ICCV 2017).

Why: a discriminator shown only the latest generator's output can chase it in circles; mixing in fakes from
earlier generators damps that oscillation. As CycleGAN: a pool of 50; until it is full every new fake is
stored and returned; afterwards, per image, with probability 1/2 a random stored fake is returned (and the new
one takes its place), else the new fake itself. Draws use torch's global RNG, which the runner seeds.
"""
from __future__ import annotations

import torch


class ImagePool:
    def __init__(self, size: int = 50) -> None:
        if size < 0:
            raise ValueError(f"image pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def state_dict(self) -> list[torch.Tensor]:
        """The stored fakes (a resumed run continues with the same history)."""
        return [image.cpu() for image in self.images]

    def load_state_dict(self, images: list[torch.Tensor]) -> None:
        self.images = [image.clone() for image in images]

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """A batch of the same shape as `images` (detached), mixing in past fakes once the pool is full."""
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
                continue
            index = int(torch.randint(self.size, (1,)))
            past = self.images[index]
            if past.shape != image.shape:  # from a stage with another crop size: replace it, return the new
                self.images[index] = image.clone()
                out.append(image)
            elif torch.rand(()) < 0.5:
                self.images[index] = image.clone()
                out.append(past.to(image.device))
            else:
                out.append(image)
        return torch.stack(out)
