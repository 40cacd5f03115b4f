"""The extent a map is framed on: every finite point's, computed column by column (a million points are
framed on the GUI thread)."""

import numpy as np

from mmstudio.ui.map.framing import extent


def test_the_extent_is_that_of_the_finite_points():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(1000, 2)).astype(np.float32)
    lo, hi = extent(xy)
    np.testing.assert_array_equal(lo, xy.min(axis=0))
    np.testing.assert_array_equal(hi, xy.max(axis=0))
    xy[3] = [np.nan, 100.0]      # a row with a blank is not framed, nor an infinite one
    xy[7] = [-np.inf, 0.0]
    finite = np.delete(xy, [3, 7], axis=0)
    lo, hi = extent(xy)
    np.testing.assert_array_equal(lo, finite.min(axis=0))
    np.testing.assert_array_equal(hi, finite.max(axis=0))
    assert extent(np.full((4, 2), np.nan)) is None and extent(np.zeros((0, 2))) is None
