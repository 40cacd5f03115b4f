"""The aligner trainer: it learns a rotation hidden under noise, reports snapshots, and stops on cancel."""

import numpy as np
import pytest

from mmstudio.analysis.alignment.aligner import train_aligner
from mmstudio.analysis.alignment.retrieval import normalise
from mmstudio.core.jobs import Cancelled, Job


def rotated_pairs(n=1000, d=32, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    y = normalise(rng.normal(size=(n, d)))
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    x = normalise(y @ q + noise * rng.normal(size=(n, d)) / np.sqrt(d) * 4)
    return x, y


class RecordingJob(Job):
    def __init__(self, cancel_at=None):
        super().__init__()
        self.snapshots = []
        self.cancel_at = cancel_at

    def partial(self, result):
        super().partial(result)
        self.snapshots.append(result)
        if self.cancel_at is not None and result.step >= self.cancel_at:
            self.cancel()


@pytest.mark.parametrize("head,loss", [("linear", "infonce"), ("mlp", "triplet")])
def test_training_improves_held_out_retrieval_and_streams_snapshots(head, loss):
    x, y = rotated_pairs()
    job = RecordingJob()
    history = train_aligner(x, y, head=head, loss=loss, steps=60, batch_size=256, eval_every=20, job=job, hidden=64)
    assert history.identity_r1 < 0.05  # the rotation hides the pairing
    assert history.heldout_r1[0] < 0.05
    assert history.final_r1 > 0.8
    assert history.eval_steps.tolist() == [0, 20, 40, 60] and len(history.loss) == 60
    assert history.loss[-10:].mean() < history.loss[:10].mean()
    assert [s.step for s in job.snapshots] == [0, 20, 40, 60]
    assert job.done == 60 and job.total == 60 and "held-out R@1" in job.message
    first, last = job.snapshots[0], job.snapshots[-1]
    assert first.points.shape == last.points.shape == (200, 2)
    np.testing.assert_array_equal(first.targets, last.targets)  # one fixed basis for the animation
    # points move onto their partners as training goes
    gaps = [np.linalg.norm(s.points - s.targets) for s in job.snapshots]
    assert gaps[-1] < 0.7 * gaps[0] and gaps == sorted(gaps, reverse=True)
    assert history.n_train == 800 and history.n_test == 200


def test_project_reproduces_the_reported_held_out_score():
    x, y = rotated_pairs(seed=1)
    history = train_aligner(x, y, steps=40, batch_size=256, eval_every=40)
    order = np.random.default_rng(0).permutation(len(x))  # the split train_aligner draws with seed 0
    test = order[:history.n_test]
    projected = history.project(x[test])
    r1 = np.mean(np.argmax(projected @ y[test].T, axis=1) == np.arange(len(test)))
    assert r1 == pytest.approx(history.final_r1)
    assert np.allclose(np.linalg.norm(projected, axis=1), 1, atol=1e-5)


def test_cancelling_stops_training():
    x, y = rotated_pairs(n=400, seed=2)
    job = RecordingJob(cancel_at=10)
    with pytest.raises(Cancelled):
        train_aligner(x, y, steps=500, eval_every=10, job=job)
    assert job.done == 10 and [s.step for s in job.snapshots] == [0, 10]


def test_two_models_of_different_widths_can_be_aligned():
    rng = np.random.default_rng(3)
    y = normalise(rng.normal(size=(600, 24)))
    x = np.tanh(y @ rng.normal(size=(24, 40)))  # a wider, squashed "other model"
    history = train_aligner(x, y, head="mlp", steps=60, batch_size=256, eval_every=30, hidden=64)
    assert history.identity_r1 is None
    assert history.final_r1 > 0.5 > history.heldout_r1[0]


def test_small_problems_run_on_one_torch_thread_and_restore_the_setting():
    import torch

    from mmstudio.analysis.common.torch_threads import threads_for

    outside = torch.get_num_threads()
    torch.set_num_threads(2)  # as on a 2-core machine (a pytest-xdist worker may start with one thread)
    try:
        with threads_for(1e3):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads_for(1e12):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(outside)
