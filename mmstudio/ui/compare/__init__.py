"""Two embeddings of the same items side by side in the window: File > Compare With (``window``), B's map
beside the map (``second_map``), the Compare panel (``panel``) and the jobs behind them (``session``).

May import: ``ui``, ``ui.map``, ``ui.widgets``, and the layers below ``ui``.
"""
