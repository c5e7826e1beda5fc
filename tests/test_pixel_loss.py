"""`models.losses.pixel`: the pix2pix-family L1 terms are measured on the code's [-1, 1] image scale."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models.cgan import Pix2PixModel
from models.losses.pixel import paper_l1


def test_paper_l1_is_the_l1_of_the_images_mapped_to_minus_one_one():
    a, b = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    assert torch.allclose(paper_l1(a, b), F.l1_loss(2 * a - 1, 2 * b - 1))
    assert torch.allclose(paper_l1(a, b), 2 * F.l1_loss(a, b))


def test_pix2pix_l1_term_uses_the_published_weight_on_that_scale():
    torch.manual_seed(0)
    model = Pix2PixModel(ngf=4, ndf=4, depth=3, image_size=64)
    batch = {"source": torch.rand(2, 1, 64, 64), "target": torch.rand(2, 1, 64, 64)}
    fakes = model.generate(batch)
    terms = model.generator_loss(batch, fakes)
    expected = 100.0 * F.l1_loss(2 * fakes["fake"] - 1, 2 * batch["target"] - 1)
    assert torch.allclose(terms["l1"], expected)
