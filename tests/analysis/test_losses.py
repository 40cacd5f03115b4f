"""InfoNCE and triplet losses on a set, computed by hand."""

import math

import numpy as np
import pytest
import torch

from mmstudio.analysis.alignment.aligner import _triplet_one_way
from mmstudio.analysis.alignment.losses import info_nce, triplet_loss


def unit(degrees):
    r = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(r), np.sin(r)], axis=1)


def test_info_nce_by_hand():
    a, b = unit([0, 90, 200]), unit([30, 80, 180])
    tau = 0.5
    s = [[math.cos(math.radians(p - q)) / tau for q in (30, 80, 180)] for p in (0, 90, 200)]
    rows = [-math.log(math.exp(s[i][i]) / sum(math.exp(v) for v in s[i])) for i in range(3)]
    cols = [-math.log(math.exp(s[j][j]) / sum(math.exp(s[i][j]) for i in range(3))) for j in range(3)]
    expected = 0.5 * (sum(rows) / 3 + sum(cols) / 3)
    assert info_nce(a, b, temperature=tau) == pytest.approx(expected, rel=1e-6)
    assert info_nce(3 * a, b, temperature=tau) == pytest.approx(expected, rel=1e-6)  # rows are normalised


def test_info_nce_in_blocks_matches_torch_cross_entropy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(37, 8)), rng.normal(size=(37, 8))
    an = torch.nn.functional.normalize(torch.as_tensor(a), dim=1)
    bn = torch.nn.functional.normalize(torch.as_tensor(b), dim=1)
    logits = an @ bn.T / 0.07
    target = torch.arange(37)
    expected = 0.5 * float(torch.nn.functional.cross_entropy(logits, target)
                           + torch.nn.functional.cross_entropy(logits.T, target))
    assert info_nce(a, b, 0.07, block_elements=5 * 37) == pytest.approx(expected, rel=1e-5)


# anchors at 0°, 90°, 180°; positives at 60°, 90°, 315°. Squared distances on the circle, d = 2 − 2 cos:
#            b0 (60°)   b1 (90°)   b2 (315°)
# a0 (0°)    1          2          2 − √2
# a1 (90°)   2 − √3     0          2 + √2
# a2 (180°)  3          2          2 + √2
ANCHORS, POSITIVES, MARGIN = unit([0, 90, 180]), unit([60, 90, 315]), 0.5
R2, R3 = math.sqrt(2), math.sqrt(3)


def test_triplet_hardest_negatives_by_hand():
    # a0: d_ap 1, closest negative 2 − √2; a1: d_ap 0, closest 2 − √3; a2: d_ap 2 + √2, closest 2
    expected = ((1 - (2 - R2) + MARGIN) + (0 - (2 - R3) + MARGIN) + ((2 + R2) - 2 + MARGIN)) / 3
    assert triplet_loss(ANCHORS, POSITIVES, MARGIN, "hardest") == pytest.approx(expected, abs=1e-5)


def test_triplet_semihard_negatives_by_hand():
    # closest negative farther than the positive: a0 → 2 (loss 0, outside the margin); a1 → 2 − √3;
    # a2 has none farther than 2 + √2, so it takes its farthest negative, 3
    expected = (0 + (0 - (2 - R3) + MARGIN) + ((2 + R2) - 3 + MARGIN)) / 3
    assert triplet_loss(ANCHORS, POSITIVES, MARGIN, "semihard") == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("negatives", ["hardest", "semihard"])
def test_the_aligners_torch_triplet_matches_the_set_loss(negatives):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 6))
    b = a + 0.8 * rng.normal(size=(30, 6))
    an = torch.nn.functional.normalize(torch.as_tensor(a), dim=1)
    bn = torch.nn.functional.normalize(torch.as_tensor(b), dim=1)
    assert float(_triplet_one_way(an @ bn.T, 0.2, negatives)) == pytest.approx(
        triplet_loss(a, b, 0.2, negatives, block_elements=4 * 30), abs=1e-5)
