"""Loss functions shared by the models."""
from models.losses.total_gradient import TotalGradientLoss, total_gradient_loss

__all__ = ["TotalGradientLoss", "total_gradient_loss"]
