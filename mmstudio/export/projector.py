"""A folder TensorBoard's embedding projector opens: ``tensorboard --logdir FOLDER``, tab "Projector".

- ``tensors.tsv``: one row per item, the vector as tab-separated numbers, no header;
- ``metadata.tsv``: a header row, then one row per item (the columns of
  :func:`mmstudio.export.embeddings.item_columns`); tabs and line breaks inside values become
  spaces, since the projector's TSV has no quoting;
- ``sprite.png``: thumbnails in row order (:mod:`mmstudio.export.sprite`), when there are image rows;
- ``projector_config.pbtxt``: a ``tensorboard.projector.ProjectorConfig`` in protobuf text format,
  with paths relative to the folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mmstudio.core.jobs import Job
from mmstudio.core.names import shown

CONFIG = "projector_config.pbtxt"
TENSORS = "tensors.tsv"
METADATA = "metadata.tsv"
SPRITE = "sprite.png"


def write_projector(table, folder, *, job=None, max_tile: int | None = None, tensor_name: str | None = None,
                    sprite: bool = True) -> list[str]:
    """Write the projector files into ``folder`` (made when missing); the notes a user should read."""
    job = job or Job()
    from mmstudio.core.atomic import atomic_write, staged_folder
    from mmstudio.export.embeddings import cell, item_columns
    from mmstudio.export.sprite import MAX_TILE, sprite_sheet

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file; TensorBoard export writes a folder")
    if len(table) == 0 or table.dim == 0:
        raise ValueError("there are no embedded rows to export")
    notes: list[str] = []
    with staged_folder(folder) as scratch:  # every file or none: an interrupted export leaves nothing
        job.status("writing tensors")
        atomic_write(scratch / TENSORS, lambda tmp: np.savetxt(tmp, table.vectors, fmt="%.9g", delimiter="\t",
                                                         encoding="utf-8"))

        columns = item_columns(table)
        lines = ["\t".join(tsv_value(name) for name, _ in columns)]
        lines += ["\t".join(tsv_value(cell(values[i])) for _, values in columns) for i in range(len(table))]
        atomic_write(scratch / METADATA, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8"))

        sprite_block = None
        if sprite and "image" in set(table.modality.tolist()):
            job.status("drawing the sprite sheet")
            try:
                sheet, tile, problems = sprite_sheet(table.path, table.modality, max_tile=max_tile or MAX_TILE, job=job)
            except ValueError as exc:
                notes.append(f"no sprite sheet: {exc}")
            else:
                atomic_write(scratch / SPRITE, lambda tmp: sheet.save(tmp, format="PNG", compress_level=3))
                sprite_block = (SPRITE, tile)
                if problems:
                    shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
                    notes.append(f"{len(problems)} image{'s' if len(problems) != 1 else ''} could not be read "
                                 f"(grey tiles): {shown}")
        config = projector_config(tensor_name or table.model or "embeddings", table.vectors.shape, sprite_block)
        atomic_write(scratch / CONFIG, lambda tmp: Path(tmp).write_text(config, encoding="utf-8"))
    return notes


def projector_config(tensor_name: str, shape, sprite: tuple[str, int] | None = None) -> str:
    """The ``ProjectorConfig`` text: one embedding, its files, and the sprite (path, tile side) if any."""
    lines = ["embeddings {",
             f"  tensor_name: {quote(tensor_name)}",
             *(f"  tensor_shape: {int(s)}" for s in shape),
             f"  tensor_path: {quote(TENSORS)}",
             f"  metadata_path: {quote(METADATA)}"]
    if sprite is not None:
        path, tile = sprite
        lines += ["  sprite {", f"    image_path: {quote(path)}",
                  f"    single_image_dim: {int(tile)}", f"    single_image_dim: {int(tile)}", "  }"]
    return "\n".join(lines + ["}"]) + "\n"


def quote(text: str) -> str:
    """A protobuf text-format string literal (C escapes; other characters as UTF-8)."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return '"' + "".join(escapes.get(c) or (c if c.isprintable() else _octal(c)) for c in shown(str(text))) + '"'


def _octal(char: str) -> str:
    return "".join(f"\\{byte:03o}" for byte in char.encode("utf-8"))


def tsv_value(text: str) -> str:
    """A value that cannot break a TSV row: each tab or line break becomes a space."""
    return re.sub(r"\r\n|[\t\r\n]", " ", shown(str(text)))
