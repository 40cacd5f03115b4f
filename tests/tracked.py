"""Strings that count every Python-level look at them: comparisons, hashes, ``str()``, ``lower()``.

A column of these in a table shows whether code works per distinct value (a few calls) or per row
(hundreds of thousands): what keeps the window responsive at a million rows, counted instead of timed.
"""

import numpy as np

CALLS = [0]


class Tracked(str):
    def __eq__(self, other):
        CALLS[0] += 1
        return str.__eq__(self, other)

    def __ne__(self, other):
        CALLS[0] += 1
        return str.__ne__(self, other)

    def __lt__(self, other):
        CALLS[0] += 1
        return str.__lt__(self, other)

    def __le__(self, other):
        CALLS[0] += 1
        return str.__le__(self, other)

    def __gt__(self, other):
        CALLS[0] += 1
        return str.__gt__(self, other)

    def __ge__(self, other):
        CALLS[0] += 1
        return str.__ge__(self, other)

    def __hash__(self):
        CALLS[0] += 1
        return str.__hash__(self)

    def __str__(self):
        CALLS[0] += 1
        return str.__str__(self)

    def lower(self):
        CALLS[0] += 1
        return str.lower(self)


def tracked(values) -> np.ndarray:
    """An object array of the values as :class:`Tracked` strings (None stays None); each distinct value is
    one object, as a table read from Parquet holds them."""
    made: dict = {}
    out = np.empty(len(values), object)
    out[:] = [None if v is None else made.setdefault(v, Tracked(v)) for v in values]
    return out


class Counting:
    """``with Counting() as count: …`` then ``count.calls``: the Tracked calls made inside."""

    def __enter__(self):
        self.start = CALLS[0]
        return self

    def __exit__(self, *exc):
        self.calls = CALLS[0] - self.start
        return False
