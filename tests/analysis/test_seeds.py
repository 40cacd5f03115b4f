"""The principles' seeds: several networks trained together equal the same networks trained one at
a time, and a headline number's interval is Student's t over the seeds (scipy's)."""

import numpy as np
import pytest
from scipy import stats

from mmstudio.analysis.principles.fit import train_net, train_nets
from mmstudio.analysis.principles.result import above, estimate, seed_list


@pytest.mark.parametrize("kind", ["concat", "additive", "linear"])
def test_stacked_networks_equal_the_networks_trained_one_by_one(kind):
    rng = np.random.default_rng(3)
    seeds = seed_list(7, 3)
    xa, xb = rng.normal(size=(3, 60, 5)), rng.normal(size=(3, 60, 4)) * 3 + 1
    y = (xa[:, :, 0] * xb[:, :, 1] > 1).astype(int) + (xa[:, :, 1] > 0)
    stack = train_nets([xa, xb], y, 3, kind, seeds=seeds, hidden=8, steps=40, weight_decay=0.1, label_smoothing=0.05)
    test_a, test_b = rng.normal(size=(25, 5)), rng.normal(size=(25, 4))
    together = stack.probs(test_a, test_b)
    for i, seed in enumerate(seeds):
        alone = train_net([xa[i], xb[i]], y[i], 3, kind, hidden=8, steps=40, weight_decay=0.1, label_smoothing=0.05,
                          seed=seed)
        np.testing.assert_allclose(together[i], alone.probs(test_a, test_b), atol=1e-5)
    assert not np.allclose(together[0], together[1])  # each member is its own network


def test_estimate_is_students_t_interval():
    v = [0.81, 0.78, 0.86, 0.80, 0.83]
    lo, hi = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    e = estimate(v)
    assert e["mean"] == pytest.approx(np.mean(v))
    assert e["ci95"] == pytest.approx([lo, hi])
    assert estimate([0.5])["ci95"] == [0.5, 0.5]


def test_a_difference_is_claimed_only_beyond_the_seeds_noise():
    assert above([0.05, 0.06, 0.04, 0.05, 0.055])
    assert not above([0.05, -0.04, 0.08, -0.02, 0.01])  # positive mean, interval crosses 0
    assert len(set(seed_list(0))) == 5 and not set(seed_list(0)) & {s + 1 for s in seed_list(0)}


@pytest.mark.parametrize("kind", ["concat", "additive"])
def test_stacked_emap_equals_emap_of_each_network(kind):
    from mmstudio.analysis.principles.complementarity import emap, emap_stacked

    rng = np.random.default_rng(5)
    xa, xb = rng.normal(size=(2, 40, 3)), rng.normal(size=(2, 40, 2))
    y = (xa[:, :, 0] * xb[:, :, 0] > 0).astype(int)
    stack = train_nets([xa, xb], y, 2, kind, seeds=[1, 2], hidden=6, steps=30)
    test_a, test_b = rng.normal(size=(2, 30, 3)), rng.normal(size=(2, 30, 2))
    together = emap_stacked(stack, test_a, test_b, chunk=500)
    for i in range(2):
        alone = emap(lambda u, v, i=i: stack.logits(u, v)[i], test_a[i], test_b[i])
        np.testing.assert_allclose(together[i], alone, atol=1e-5)
