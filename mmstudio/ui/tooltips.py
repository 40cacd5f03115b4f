"""The hover tooltip of a point: its picture, waveform or caption, label and sample."""

from __future__ import annotations

import html

from mmstudio.ui.thumbnails import image_thumbnail, png_data_uri, text_of, waveform_glyph


def item_text(table, row: int) -> str | None:
    """The caption of a text row: inline (manifest) or read from its file."""
    if table.modality[row] != "text":
        return None
    path = table.path[row]
    if path:
        return text_of(str(path))
    caption = table.columns.get("caption")
    return None if caption is None else caption[row]


def tooltip_html(table, row: int) -> str:
    modality, path = table.modality[row], table.path[row]
    parts = []
    if modality == "image" and path:
        thumb = image_thumbnail(str(path), 128)
        if thumb is not None:
            parts.append(f'<img src="{png_data_uri(thumb)}">')
    elif modality == "audio" and path:
        glyph = waveform_glyph(str(path), 160, 40)
        if glyph is not None:
            parts.append(f'<img src="{png_data_uri(glyph)}">')
    text = item_text(table, row)
    if text:
        parts.append(f"<i>{html.escape(text)}</i>")
    label = table.label[row]
    parts.append(f"<b>{html.escape(str(label)) if label is not None else '(no label)'}</b> · {modality} · "
                 f"{html.escape(str(table.sample_id[row]))}")
    return "<br>".join(parts)
