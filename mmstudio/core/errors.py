"""Failures as values: every unreadable item carries the file, the modality and the reason."""

from __future__ import annotations

from dataclasses import dataclass


class MediaError(Exception):
    """A media file could not be used. Raised by readers, turned into an :class:`ItemError` by callers."""

    def __init__(self, path, modality: str | None, reason: str):
        self.path = None if path is None else str(path)
        self.modality = modality
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


@dataclass(frozen=True)
class ItemError:
    """One item that was skipped: which file, which modality (None when unknown) and why. The same
    shape carries a note about an item that was used (``reason`` is then the remark)."""

    path: str | None
    modality: str | None
    reason: str
    sample_id: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException, path=None, modality=None, sample_id=None) -> "ItemError":
        if isinstance(exc, MediaError):
            return cls(exc.path or (None if path is None else str(path)), exc.modality or modality, exc.reason, sample_id)
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return cls(None if path is None else str(path), modality, reason, sample_id)

    def __str__(self) -> str:
        from mmstudio.core.names import shown

        where = self.path or self.sample_id
        kind = f" [{self.modality}]" if self.modality else ""
        return f"{shown(where)}{kind}: {shown(self.reason)}" if where else f"{shown(self.reason)}{kind}"
