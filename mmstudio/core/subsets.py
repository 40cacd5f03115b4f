"""Named subsets: groups of items a person keeps (a selection saved under a name), each with a colour.

A subset's members are ``(sample id, modality)`` pairs, not row numbers: rows that join the table
later (another folder opened, a project re-opened and encoded again) belong to the subsets that
name them. A member with an empty modality names every item of its sample (as a saved selection
may). :class:`Subsets` answers, for the table shown now, which rows each subset holds (a boolean
mask per name, kept until the table changes); the window's workspace owns one and the project file
stores them (:mod:`mmstudio.core.project`).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Subset:
    colour: str                                                     # "#rrggbb"
    members: list[tuple[str, str]] = field(default_factory=list)    # (sample id, modality); "" = every modality

    def copy(self) -> "Subset":
        return Subset(self.colour, list(self.members))


def members_of(table, rows) -> list[tuple[str, str]]:
    """The ``(sample id, modality)`` of each of ``rows`` of ``table``, once each, in row order."""
    return list(dict.fromkeys((str(table.sample_id[r]), str(table.modality[r])) for r in np.asarray(rows).tolist()))


def member_mask(sample_ids, modalities, members) -> np.ndarray:
    """True for each row whose ``(sample id, modality)`` is a member (or whose sample is, for ``""``)."""
    wanted = {(s, m) for s, m in members if m}
    whole = {s for s, m in members if not m}
    n = len(sample_ids)
    if not members or n == 0:
        return np.zeros(n, bool)
    return np.fromiter(((str(s), str(m)) in wanted or str(s) in whole for s, m in zip(sample_ids, modalities)),
                       bool, n)


class Subsets(Mapping):
    """name → a boolean mask over the rows of the table shown now (``table_of()``), with each
    subset's colour and members; ``changed()`` is called after every change (the window's signal)."""

    def __init__(self, table_of=lambda: None, changed=None):
        self._table_of = table_of
        self._changed = changed or (lambda: None)
        self._subsets: dict[str, Subset] = {}
        self._masks: dict[str, np.ndarray] = {}
        self._table = None                     # a weak reference to the table the masks are for
        self._keys = None                      # its sample_id and modality columns

    # ------------------------------------------------------------------ reading
    def __getitem__(self, name: str) -> np.ndarray:
        subset = self._subsets[name]
        table = self._table_of()
        if table is None:
            return np.zeros(0, bool)
        if self._table is None or self._table() is not table:
            self._switch(table)
        mask = self._masks.get(name)
        if mask is None or len(mask) < len(table):   # new, or rows joined: only theirs are looked up
            start = 0 if mask is None else len(mask)
            tail = member_mask(table.sample_id[start:], table.modality[start:], subset.members)
            mask = tail if mask is None else np.concatenate([mask, tail])
            self._masks[name] = mask
        return mask

    def _switch(self, table) -> None:
        """Another table is shown: the masks stay when it begins with the same items (rows were added),
        else they are computed again."""
        old, self._keys = self._keys, (table.sample_id, table.modality)
        self._table = weakref.ref(table)
        if old is not None:
            n = len(old[0])
            if len(table) >= n and np.array_equal(table.sample_id[:n], old[0]) \
                    and np.array_equal(table.modality[:n], old[1]):
                return
        self._masks = {}

    def __iter__(self):
        return iter(self._subsets)

    def __len__(self) -> int:
        return len(self._subsets)

    def rows(self, name: str) -> np.ndarray:
        """The rows of the current table that belong to ``name``, in table order."""
        return np.flatnonzero(self[name]).astype(np.int64)

    def colour(self, name: str) -> str:
        return self._subsets[name].colour

    def members(self, name: str) -> list[tuple[str, str]]:
        return list(self._subsets[name].members)

    def saved(self) -> dict[str, Subset]:
        """Copies of every subset (what a project keeps)."""
        return {name: subset.copy() for name, subset in self._subsets.items()}

    # ------------------------------------------------------------------ changing
    def add(self, name: str, members, colour: str) -> None:
        """A new subset (a subset of that name is replaced)."""
        name = _name(name)
        self._subsets[name] = Subset(colour, list(members))
        self._masks.pop(name, None)
        self._changed()

    def rename(self, old: str, new: str) -> None:
        new = _name(new)
        if new == old:
            return
        if new in self._subsets:
            raise ValueError(f"a subset named {new!r} exists already")
        self._subsets = {(new if k == old else k): v for k, v in self._subsets.items()}
        self._masks = {(new if k == old else k): v for k, v in self._masks.items()}
        self._changed()

    def remove(self, name: str) -> None:
        self._subsets.pop(name)
        self._masks.pop(name, None)
        self._changed()

    def recolour(self, name: str, colour: str) -> None:
        self._subsets[name].colour = colour
        self._changed()

    def restore(self, subsets: dict[str, Subset]) -> None:
        """Replace every subset (a project was opened)."""
        self._subsets = {name: subset.copy() for name, subset in subsets.items()}
        self._masks = {}
        self._changed()

    def clear(self) -> None:
        self.restore({})


def _name(name: str) -> str:
    name = str(name).strip()
    if not name:
        raise ValueError("a subset needs a name")
    return name
