"""The map coloured by a named subset: its members in the subset's colour, every other point grey.

"Colour by" lists one entry per subset (``subset: NAME``); members are found by sample id and
modality (:class:`~mmstudio.core.subsets.Subsets`), so points that join the map later are coloured
right too.
"""

from __future__ import annotations

import numpy as np

from mmstudio.ui import colors

PREFIX = "subset: "
OTHERS = (200, 200, 200)   # lighter than MISSING: the members stand out


def subset_options(workspace) -> list[str]:
    """The "Colour by" entries of the workspace's subsets."""
    return [PREFIX + name for name in workspace.subsets]


def subset_colours(workspace, key: str) -> tuple[np.ndarray, list[tuple]] | None:
    """Every row's colour and the legend for ``key`` (``subset: NAME``); None for any other key."""
    name = key[len(PREFIX):] if key.startswith(PREFIX) else None
    if name is None or name not in workspace.subsets:
        return None
    mask = workspace.subsets[name]
    colour = colors.hex_to_rgb(workspace.subsets.colour(name))
    rgb = np.empty((len(mask), 3), np.uint8)
    rgb[:] = OTHERS
    rgb[mask] = colour
    inside = int(mask.sum())
    return rgb, [(f"{name} ({inside:,})", colour, "o"), (f"others ({len(mask) - inside:,})", OTHERS, "o")]
