"""The provided U-Net, and the reference data set, Dice loss and segmentation scores of part 2."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import f1_score, jaccard_score

from course_lib.models import UNet
from course_lib.reference.dna_unet import ImageDataset, dice_loss, dice_score, iou_score

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("base, depth, size", [(4, 4, 64), (2, 2, 32), (4, 3, 256)])
def test_unet_shapes_and_probabilities(base, depth, size):
    model = UNet(base=base, depth=depth).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 1, size, size))
    assert out.shape == (2, 1, size, size) and ((out >= 0) & (out <= 1)).all()


def test_unet_logits_option_and_size_error():
    model = UNet(base=2, depth=2, sigmoid=False).eval()
    with torch.no_grad():
        out = model(torch.full((1, 1, 16, 16), 5.0))
    assert out.shape == (1, 1, 16, 16)
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.rand(1, 1, 18, 16))


def test_unet_learns_a_square():
    torch.manual_seed(0)
    x = torch.zeros(8, 1, 32, 32)
    x[:, :, 8:20, 10:24] = 1
    x += 0.1 * torch.randn_like(x)
    y = (x > 0.5).float()
    model = UNet(base=4, depth=2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = dice_loss(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
    model.eval()
    with torch.no_grad():
        assert dice_score(model(x), y) > 0.9


def test_dice_loss_formula():
    p = torch.tensor([[0.5, 1.0], [0.0, 0.25]])
    t = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    want = 1 - (2 * 1.5 + 1) / (1.75 + 2 + 1)
    assert dice_loss(p, t).item() == pytest.approx(want)
    assert dice_loss(torch.zeros(3, 3), torch.zeros(3, 3)).item() == 0.0


def test_scores_match_sklearn():
    rng = np.random.default_rng(0)
    p, t = rng.random((32, 32)), (rng.random((32, 32)) < 0.3)
    assert dice_score(p, t) == pytest.approx(f1_score(t.ravel(), p.ravel() > 0.5))
    assert iou_score(torch.from_numpy(p), t) == pytest.approx(jaccard_score(t.ravel(), p.ravel() > 0.5))
    assert dice_score(np.zeros(4), np.zeros(4)) == iou_score(np.zeros(4), np.zeros(4)) == 1.0


def test_image_dataset_rotates_image_and_mask_together(tmp_path):
    rng = np.random.default_rng(0)
    mask = np.zeros((256, 256), np.uint8)
    mask[20:60, 30:200] = 255
    mask[100:140, 10:50] = 255
    image = (mask // 2 + 40 + rng.integers(0, 20, mask.shape)).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "0_cells.png")
    Image.fromarray(mask).save(tmp_path / "0_masks.png")
    pairs = [(tmp_path / "0_cells.png", tmp_path / "0_masks.png")]
    plain = ImageDataset(pairs)[0]
    assert plain[0].shape == plain[1].shape == (1, 256, 256) and plain[0].dtype == torch.float32
    torch.manual_seed(0)
    ds = ImageDataset(pairs, augment=True)
    seen = set()
    for _ in range(20):
        img, m = ds[0]
        assert torch.equal((img > 100 / 255).float(), m)
        seen.add(img.numpy().tobytes())
    assert len(seen) > 2
