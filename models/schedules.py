"""Learning-rate schedules of the pix2pix family: constant, then linear decay to zero."""
from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def linear_decay(optimizer: Optimizer, total_epochs: int, decay_fraction: float = 0.5) -> LambdaLR:
    """Constant for the first (1 - decay_fraction) of the epochs, then linear to zero (pix2pix's 'linear').

    With 100 + 100 epochs this is exactly pix2pix/CycleGAN's schedule; presets shrink `total_epochs` only.
    """
    decay_epochs = max(1, round(total_epochs * decay_fraction))
    constant = total_epochs - decay_epochs

    def factor(epoch: int) -> float:
        return 1.0 - max(0, epoch + 1 - constant) / float(decay_epochs + 1)

    return LambdaLR(optimizer, factor)
