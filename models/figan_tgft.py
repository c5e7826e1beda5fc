"""`figan-tgft`: FI-GAN with the TG loss, pre-trained on a large image set, then fine-tuned on the target.

Zhang H. et al., Biomed. Opt. Express 10(3):1044, 2019 (transfer learning).

Two stages (`models.stages`), fitted in turn by the runner and recorded as one run (`stages` in the record):
1. `pretrain`: exactly `figan-tg` (the constructor's loss weights and learning rate: alpha 1, beta 1,
   gamma 8e-3, eta 1e-2, epsilon 1e-3, theta 1, Adam 1e-3; batch 64, crop 64; the best-validation-PSNR epoch
   kept) on a pre-training set. The paper used natural images; here `pretrain_data` (a dataset name, default the
   synthetic `fluorescence` scenes) read from `pretrain_root` (else the `PRETRAIN_ROOT` environment variable,
   else its synthetic default). Its data options come from the preset's section for that dataset.
2. `finetune`: from the best pre-trained weights, on the run's dataset, with epsilon 1, alpha 10, beta 10,
   gamma 8, eta 1, theta 10, Adam 1e-6, batch 64, crop 32, early stopping on validation PSNR.

Choices: the paper does not give the fine-tuning patience or epoch cap: `finetune_patience=10` validation
epochs and the run's `trainer.max_epochs` (unless `finetune_epochs`/`pretrain_epochs` are set). A crop or
batch size of None leaves the stage's data options as configured (presets use that on small data). Both stages
start from fresh Adam state.
"""
from __future__ import annotations

import os
from typing import Any, ClassVar

from models import register_model
from models.figan import LOSS_WEIGHTS, FIGANModel
from models.stages import StagedModel, TrainingStage

STAGE_KEYS = (*LOSS_WEIGHTS, "lr")


@register_model("figan-tgft")
class FIGANTGFTModel(StagedModel, FIGANModel):
    # Stage crops and batches are the model's own in the paper preset (pretrain 64/64, fine-tune 32/64); smoke
    # and quick use the run's. The paper's fine-tuning lr (1e-6) moves nothing in a few epochs, so the quick
    # preset fine-tunes at 1e-4.
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"model": {"channels": 8, "growth": 8, "num_blocks": 2, "layers_per_block": 2, "ndf": 8,
                            "d_layers": 2, "gamma": 0, "eta": 0, "finetune_gamma": 0, "finetune_eta": 0,
                            "pretrain_crop_size": None, "pretrain_batch_size": None, "finetune_crop_size": None,
                            "finetune_batch_size": None}},
        "quick": {"model": {"channels": 32, "growth": 16, "num_blocks": 4, "layers_per_block": 3, "ndf": 32,
                            "gamma": 0, "eta": 0, "finetune_gamma": 0, "finetune_eta": 0, "finetune_lr": 1.0e-4,
                            "pretrain_epochs": 4, "finetune_epochs": 4, "pretrain_crop_size": None,
                            "pretrain_batch_size": None, "finetune_crop_size": None, "finetune_batch_size": None}},
        "paper": {"trainer": {"max_epochs": 200}},
    }

    def __init__(self, *args: Any, pretrain_data: str = "fluorescence", pretrain_root: str | None = None,
                 pretrain_epochs: int | None = None, pretrain_crop_size: int | None = 64,
                 pretrain_batch_size: int | None = 64, finetune_alpha: float = 10.0,
                 finetune_beta: float = 10.0,
                 finetune_gamma: float = 8.0, finetune_eta: float = 1.0, finetune_epsilon: float = 1.0,
                 finetune_theta: float = 10.0, finetune_lr: float = 1e-6, finetune_epochs: int | None = None,
                 finetune_crop_size: int | None = 32, finetune_batch_size: int | None = 64,
                 finetune_patience: int = 10, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pretrain_values = {key: self.hparams[key] for key in STAGE_KEYS}
        self.finetune_values = {key: self.hparams[f"finetune_{key}"] for key in STAGE_KEYS}

    def training_stages(self) -> list[TrainingStage]:
        hp = self.hparams
        return [
            TrainingStage("pretrain", hparams=self.pretrain_values,
                          data={"crop_size": hp.pretrain_crop_size, "batch_size": hp.pretrain_batch_size},
                          dataset=hp.pretrain_data, root=hp.pretrain_root or os.environ.get("PRETRAIN_ROOT"),
                          trainer={"max_epochs": hp.pretrain_epochs}),
            TrainingStage("finetune", hparams=self.finetune_values,
                          data={"crop_size": hp.finetune_crop_size, "batch_size": hp.finetune_batch_size},
                          trainer={"max_epochs": hp.finetune_epochs},
                          early_stopping_patience=hp.finetune_patience or None),
        ]

    def begin_stage(self, stage: TrainingStage) -> None:
        super().begin_stage(stage)
        self.lr = self.hparams.lr

    def planned_weights(self) -> list[dict[str, Any]]:
        return [self.pretrain_values, self.finetune_values]
