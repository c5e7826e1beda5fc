"""What defines a study, stored in the study itself.

Why: workers on other nodes (or started later, or by `--workers`) must run exactly the same study: same model,
dataset, preset, fixed settings and search space, even if a space file is edited meanwhile. The first `run`
writes these settings into the study's user attributes; every worker reads them back from the storage.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from benchmark.errors import UsageError
from sweeps.space import SearchSpace

ATTR = "sweeps:settings"
OBJECTIVES = ("psnr", "ssim")
# Settings that must agree between a study and a later `run` joining it (the target count may change).
IDENTITY = ("model", "data", "preset", "objectives", "overrides", "data_root", "grid", "seed")


@dataclass
class SweepSettings:
    model: str
    data: str
    preset: str = "quick"
    trials: int = 20
    objectives: list[str] = field(default_factory=lambda: ["psnr"])
    sampler: str = "tpe"
    pruner: str = "median"
    overrides: list[str] = field(default_factory=list)  # the user's --set: fixed for every trial
    preset_fixed: list[str] = field(default_factory=list)  # space parameters the preset fixes (not sampled)
    space: dict[str, Any] = field(default_factory=dict)  # SearchSpace.to_dict(), pinned keys removed
    grid: bool = False
    seeds: int = 0  # grid mode: seeds per variant
    seed: int = 0  # the run seed of every sampled trial (grid trials sample theirs)
    data_root: str | None = None
    devices: str = "1"
    crop: int | None = None  # the training crop k_max fractions and U-Net depth caps refer to
    max_epochs: int | None = None

    @property
    def multi(self) -> bool:
        return len(self.objectives) > 1

    def search_space(self) -> SearchSpace:
        return SearchSpace.from_dict(self.model, self.space, "study settings")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SweepSettings:
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})

    def conflicts(self, other: SweepSettings) -> list[str]:
        """The identity settings where `other` differs from this study's."""
        return [f"{k}: study has {getattr(self, k)!r}, asked {getattr(other, k)!r}"
                for k in IDENTITY if getattr(self, k) != getattr(other, k)]


def parse_objectives(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names or len(set(names)) != len(names) or any(n not in OBJECTIVES for n in names) or names[0] != "psnr":
        raise UsageError(f"--objective {text!r}: expected psnr or psnr,ssim")
    return names
