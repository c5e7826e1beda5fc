"""NIR-I generalisation block and the SBR / T/NT gains (Ma et al., PNAS 2021)."""
from __future__ import annotations

import pytest
import torch

from benchmark.evaluation import evaluator_for
from datamodules.nir import NIRDataModule

SMALL = {"size": 64, "crop_size": 32, "train_images": 2, "val_images": 1, "test_images": 3}


def test_synthetic_test_split_holds_the_same_scenes_in_nir_i():
    dm = NIRDataModule(**SMALL)
    dm.setup()
    test = dm.splits["test"]
    assert test.tags["band"] == ["nir_iia", "nir_i"] * 3 and test.ids[1] == test.ids[0] + "@nir_i"
    assert torch.equal(test.target[0], test.target[1])  # one NIR-IIb target for both sources
    assert not torch.equal(test.source[0], test.source[1])
    # NIR-I scatters more and carries more autofluorescence: the source is further from the target.
    assert ((test.source[1] - test.target[1]) ** 2).mean() > ((test.source[0] - test.target[0]) ** 2).mean()
    alone = NIRDataModule(**SMALL, generalise=False)
    alone.setup()
    assert alone.splits["test"].ids == test.ids[::2] and torch.equal(alone.splits["test"].source[2], test.source[4])
    assert len(dm.splits["train"]) == 2  # training stays NIR-IIa only


def test_headline_is_nir_iia_and_the_nir_i_block_has_ratio_gains():
    dm = NIRDataModule(**SMALL)
    dm.setup()
    evaluator = evaluator_for(dm)
    rows = []
    for batch in dm.test_dataloader():
        rows += evaluator.rows(batch["target"], batch)  # a perfect "prediction": the target itself
    summary = evaluator.summary(rows)
    assert summary["images"] == 3 and summary["by_tag"]["band"]["nir_i"]["images"] == 3
    block = summary["by_tag"]["band"]["nir_i"]
    assert block["test"]["psnr"] == pytest.approx(100.0) and block["input"]["psnr"] < summary["input"]["psnr"]
    for ratios in (summary["ratios"], block["ratios"]):
        assert set(ratios) == {"sbr", "tnr"}
        sbr = ratios["sbr"]
        assert sbr["prediction"] == pytest.approx(sbr["target"]) and sbr["gain"] == pytest.approx(
            sbr["prediction"] / sbr["input"])
    assert block["ratios"]["sbr"]["input"] < summary["ratios"]["sbr"]["input"]  # NIR-I: lower SBR than NIR-IIa
