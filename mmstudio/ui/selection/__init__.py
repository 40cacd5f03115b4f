"""The Selection panel: the selected items as a gallery, their counts, their nearest items of the other
modalities, named subsets (saved, recoloured, compared) and the alignment metrics of either.

May import: ``ui``, ``ui.widgets``, and the layers below ``ui``.
"""
