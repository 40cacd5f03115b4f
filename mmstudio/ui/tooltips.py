"""The hover tooltip of a point: its picture, waveform or caption, label and sample."""

from __future__ import annotations

import html

from mmstudio.ui.thumbnails import text_of


def item_text(table, row: int) -> str | None:
    """The caption of a text row: inline (manifest) or read from its file."""
    if table.modality[row] != "text":
        return None
    path = table.path[row]
    if path:
        return text_of(str(path))
    caption = table.columns.get("caption")
    return None if caption is None else caption[row]


PICTURE = {"image": (128, 128), "audio": (160, 40)}   # modality → the tooltip picture's size


def picture_request(table, row: int):
    """``(kind, path, width, height)`` of the row's tooltip picture, or None."""
    modality, path = table.modality[row], table.path[row]
    if modality not in PICTURE or not path:
        return None
    return (modality, str(path), *PICTURE[modality])


def tooltip_html(table, row: int, pictures) -> str:
    """The row's tooltip; its picture from ``pictures`` (a :class:`~mmstudio.ui.thumbnail_loader.QtThumbnails`),
    "loading…" while it is decoded."""
    from mmstudio.ui.thumbnail_loader import PENDING

    parts = []
    request = picture_request(table, row)
    if request is not None:
        uri = pictures.get(*request, form="uri")
        if uri is PENDING:
            parts.append("<span style='color: gray'>loading the picture…</span>")
        elif uri is not None:
            parts.append(f'<img src="{uri}">')
    modality = table.modality[row]
    text = item_text(table, row)
    if text:
        parts.append(f"<i>{html.escape(text)}</i>")
    label = table.label[row]
    parts.append(f"<b>{html.escape(str(label)) if label is not None else '(no label)'}</b> · {modality} · "
                 f"{html.escape(str(table.sample_id[row]))}")
    return "<br>".join(parts)
