"""Category colours keyed by value: a value keeps its colour whatever joins it; new values take unused ones."""

import numpy as np

from mmstudio.ui import colors
from mmstudio.ui.map.colouring import MapColours


def hexes(n):
    return [colors.rgb_to_hex(c) for c in colors.PALETTE[:n]]


def test_values_keep_their_colours_when_more_frequent_values_that_sort_earlier_join():
    registry = {}
    first = ["star"] * 5 + ["circle"] * 3 + [None]
    rgb, legend = colors.categorical(first, registry)
    assert registry == dict(zip(["star", "circle"], hexes(2)))         # most frequent first, from the palette
    assert tuple(rgb[-1]) == colors.MISSING and "—" not in registry      # blanks are grey, never assigned
    more = first + ["aardvark"] * 20 + ["circle"] * 10
    rgb, legend = colors.categorical(more, registry)
    assert registry == dict(zip(["star", "circle", "aardvark"], hexes(3)))
    assert [name for name, _ in legend] == ["aardvark", "circle", "star", "—"]   # the legend goes by count
    np.testing.assert_array_equal(rgb[:5], np.repeat(colors.PALETTE[:1], 5, axis=0))
    # without a registry the colours go by frequency, as before (star would turn orange here)
    assert tuple(colors.categorical(more)[0][0]) == tuple(colors.PALETTE[2])


def test_a_registry_read_from_a_project_is_honoured_and_a_21st_value_reuses_the_least_used_colour():
    registry = {"b": "#FF7F0E"}                                          # as a person may write it by hand
    rgb, _ = colors.categorical(["a", "b"], registry)
    assert tuple(rgb[1]) == (255, 127, 14) and registry["a"] == hexes(1)[0]
    values = [f"v{i:02d}" for i in range(18)]
    colors.categorical(values, registry)
    assert sorted(v.lower() for v in registry.values()) == sorted(hexes(20))   # all 20 used, once each
    colors.categorical(["late"], registry)
    assert registry["late"] == hexes(1)[0]


def test_rows_that_join_keep_the_colours_they_had_and_match_colouring_everything_at_once():
    from mmstudio.core.tables.table import EmbeddingTable

    def table(labels):
        n = len(labels)
        return EmbeddingTable(np.arange(n).astype(str).astype(object), np.array(["text"] * n, object),
                              np.array([""] * n, object), np.array(labels, object), np.zeros((n, 2), np.float32))

    labels = ["star", "ring", "star", None, "cross"] * 3
    registry = {}
    before, _ = MapColours().colours(table(labels[:6]), "label", registry)
    rgb, legend = MapColours().colours(table(labels), "label", registry)
    np.testing.assert_array_equal(rgb[:6], before)
    whole, whole_legend = MapColours().colours(table(labels), "label", {k: v for k, v in registry.items()})
    np.testing.assert_array_equal(rgb, whole)
    assert legend == whole_legend
    reference, reference_legend = colors.categorical(labels, dict(registry["label"]))   # the per-value rule
    np.testing.assert_array_equal(rgb, reference)
    assert legend == reference_legend
