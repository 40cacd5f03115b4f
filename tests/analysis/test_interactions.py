"""The interactions principle (partial information decomposition) on the demo world: ``shape`` (every
modality tells it) comes out redundant and ``xor`` (striped is seen, echo is heard) synergistic; on
random vectors it claims nothing; and the command line's JSON carries the contract."""

import json

import numpy as np
import pytest

from mmstudio.__main__ import main
from mmstudio.analysis.principles.interactions import interactions, keys
from mmstudio.analysis.principles.pid import decompose, joint

ATOMS = ["redundancy", "unique_image", "unique_audio", "synergy"]


@pytest.fixture(scope="module")
def demo(demo_world):
    return demo_world    # tests/analysis/conftest.py: 400 scenes, built once per session


@pytest.fixture(scope="module")
def results(demo):
    return {task: interactions(demo, task=task) for task in ("shape", "xor")}


@pytest.mark.parametrize("task, largest", [("shape", "redundancy"), ("xor", "synergy")])
def test_shape_is_redundant_and_xor_synergistic_on_the_demo_world(results, task, largest):
    r = results[task]
    assert r.verdict == "shown", r.statement
    means = {k: r.headline[k]["mean"] for k in ATOMS}
    assert max(means, key=means.get) == largest == r.largest
    assert means[largest] > 0.5 * r.headline["info_joint"]["mean"]           # the largest share by far
    word = {"redundancy": "redundancy (either one tells it)", "synergy": "synergy (only the two together tell it)"}
    assert r.statement.startswith(f"Shown: on {task!r} the largest share") and word[largest] in r.statement
    assert all(c.held for c in r.checks)
    # each seed's atoms add up to its I(image, audio; task); a modality alone tells xor ~nothing
    for s in range(len(r.seeds)):
        assert sum(r.values[k][s] for k in ATOMS) == pytest.approx(r.values["info_joint"][s], abs=1e-9)
    if task == "xor":
        assert max(r.headline["info_image"]["mean"], r.headline["info_audio"]["mean"]) < 0.1
        assert r.headline["info_joint"]["mean"] > 0.8 * r.label_entropy
    for k in keys(r.modalities):
        lo, hi = r.bootstrap[k]
        assert lo <= hi


def test_each_seeds_numbers_are_the_decomposition_of_its_discretised_test_split(demo):
    """The principle's numbers are those of decompose() on the codes it measured (recomputed here from the
    same discretisation: split, network and k-means of seed 3)."""
    from mmstudio.analysis.common.pairing import paired
    from mmstudio.analysis.principles.interactions import discretise

    r = interactions(demo, task="xor", seeds=1, resamples=1, seed=3)
    data = paired(demo, "xor")
    codes, y, _ = discretise(data, ("image", "audio"), r.seeds, r.clusters)
    for s in range(1):
        pid = decompose(joint(codes[0, s], codes[1, s], y[s], (r.clusters, r.clusters, 2)))
        np.testing.assert_allclose([r.values[k][s] for k in ATOMS], pid.atoms(), atol=1e-9)


@pytest.fixture(scope="module")
def random_vectors(demo):
    """The demo table with every embedding replaced by a random unit vector: nothing to decompose."""
    from mmstudio.core.tables.table import EmbeddingTable

    noise = np.random.default_rng(11).standard_normal(demo.vectors.shape).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return EmbeddingTable(demo.sample_id, demo.modality, demo.path, demo.label, noise, demo.columns,
                          model=demo.model)


@pytest.mark.parametrize("task", ["shape", "xor"])
def test_on_random_vectors_no_interaction_is_claimed(random_vectors, task):
    r = interactions(random_vectors, task=task, resamples=10)
    assert r.verdict == "not shown", r.statement
    assert r.statement.startswith("Not shown on this data") and "Shown:" not in r.statement
    assert "largest share" not in r.statement
    informative, largest = r.checks
    assert not informative.held and "shuffled" in informative.evidence
    assert not largest.held   # nor does the synergy the plug-in bias makes lead by more than that bias
    data = r.to_dict()
    assert data["verdict"] == "not shown" and data["summary"] == r.statement


def test_cli_json_carries_the_contract(capsys, demo_world_file):
    table = str(demo_world_file)
    assert main(["principles", "interactions", "--table", table, "--task", "shape", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "interactions" and out["task"] == "shape"
    assert out["verdict"] == "shown" and out["summary"] == out["statement"] and out["largest"] == "redundancy"
    assert len(out["seeds"]) >= 5 and all({"claim", "held", "evidence"} <= set(c) for c in out["checks"])
    assert set(out["headline"]) == set(keys(("image", "audio")))
    for entry in out["headline"].values():
        lo, hi = entry["ci95"]
        assert lo <= entry["mean"] <= hi and len(entry["values"]) == len(out["seeds"])
    for k in ATOMS:   # the bootstrap interval holds the atom's values in its bulk
        lo, hi = out["bootstrap"][k]
        assert lo <= np.median(out["values"][k]) <= hi


def test_cli_text_and_bad_options(capsys, demo_world_file):
    table = str(demo_world_file)
    assert main(["principles", "interactions", "--table", table, "--seeds", "2", "--modalities", "audio,image"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("interactions: ") and "U audio (unique)" in text and "I(audio, image; xor)" in text
    for argv, words in ((["--alpha", "1"], "does not use --alpha"),
                        (["--task", "caption"], "classes"),
                        (["--task", "nope"], "no column 'nope'"),
                        (["--modalities", "image,text"], "no text rows")):
        assert main(["principles", "interactions", "--table", table, *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err


def two_bits_table(n=400, seed=0, dim=16):
    """A bit seen in the image, another heard in the audio, and the label the pair of them: each modality's
    information is its own (U image = U audio = 1 bit), none is shared or needs the other."""
    from mmstudio.core.tables.table import EmbeddingTable

    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)

    def vectors(bit):
        v = 0.5 * rng.standard_normal((n, dim))
        v[:, 0] += 2.0 * (2 * bit - 1)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    pair = np.array([f"{i}{j}" for i, j in zip(a, b)], object)
    return EmbeddingTable(np.array([f"s{i}" for i in range(n)] * 2, object),
                          np.array(["image"] * n + ["audio"] * n, object), np.array([""] * (2 * n), object),
                          np.concatenate([pair, pair]), np.vstack([vectors(a), vectors(b)]),
                          {"pair": np.concatenate([pair, pair])})


def test_two_equal_unique_shares_make_no_interaction_the_largest():
    r = interactions(two_bits_table(), task="pair")
    u_image, u_audio = r.headline["unique_image"]["mean"], r.headline["unique_audio"]["mean"]
    assert u_image == pytest.approx(1.0, abs=0.15) and u_audio == pytest.approx(1.0, abs=0.15)
    informative, largest = r.checks
    assert informative.held and not largest.held, r.statement
    assert r.verdict == "not shown" and "one interaction is clearly the largest does not hold" in r.statement
    assert "largest share" not in r.statement


def test_too_few_samples_or_clusters_are_refused_in_one_sentence():
    with pytest.raises(ValueError, match=r"30 samples with image and audio and a 'pair' label are too few"):
        interactions(two_bits_table(n=30), task="pair")
    with pytest.raises(ValueError, match="at least 2 clusters"):
        interactions(two_bits_table(n=30), task="pair", clusters=1)
