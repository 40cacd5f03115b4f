"""Naming the metadata columns of an embedding table.

A manifest may have a column named like one every table has (``path``, ``error``, ``embedding``…).
Such a column is kept under ``meta_NAME``; when that name is taken too (the manifest also has a
``meta_NAME`` column), under ``meta_NAME_2``, ``meta_NAME_3``… Nothing is dropped, and each renaming
comes with a note saying so.
"""

from __future__ import annotations


def metadata_column_names(keys, reserved) -> tuple[dict[str, str], list[str]]:
    """``{key: column name}`` for metadata ``keys`` (in order) and one note per renamed key."""
    keys = list(dict.fromkeys(keys))
    taken = {k for k in keys if k not in reserved} | set(reserved)
    names, notes = {}, []
    for key in keys:
        if key not in reserved:
            names[key] = key
            continue
        name = f"meta_{key}"
        n = 2
        while name in taken:
            name = f"meta_{key}_{n}"
            n += 1
        taken.add(name)
        names[key] = name
        clash = f"; 'meta_{key}' is another metadata column" if name != f"meta_{key}" else ""
        notes.append(f"metadata column '{key}' is kept as '{name}' ('{key}' is a column of every embedding "
                     f"table{clash})")
    return names, notes
