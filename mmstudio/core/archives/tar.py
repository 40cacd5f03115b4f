"""Tar shards read in place: the members listed from their headers, a member's bytes read at its offset.

Nothing is unpacked to disk and no shard is held in memory. Listing opens the shard with
:mod:`tarfile` in random-access mode (``r:``), which seeks from header to header and reads only
the 512-byte headers: a 1 GB shard is listed in milliseconds, where stream mode (``r|``) would
read every byte of it just to find the next header. A member's bytes are read later, when it is
decoded, from the offset its header gave.

Damage is reported, never raised: a header that fails its checksum is skipped to the next good
header (``ignore_zeros``), and the bytes lost there are named with their offset; a member whose
data runs past the end of the file (a truncated shard) is listed with the bytes it claims, and
reading it says how many are there.
"""

from __future__ import annotations

import os
import tarfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from mmstudio.core.errors import MediaError

BLOCK = tarfile.BLOCKSIZE
_INDEXED = 256  # shards whose member index is kept for reading (a few KB each)


@dataclass(frozen=True)
class TarMember:
    name: str
    offset: int  # of its data in the shard
    size: int

    def missing(self, shard_size: int) -> int:
        """How many of its bytes lie past the end of the shard (0 when it is whole)."""
        return max(0, self.offset + self.size - shard_size)


@dataclass
class TarListing:
    """The regular files of a shard, in order, and what was wrong with the shard itself."""

    size: int = 0
    members: list[TarMember] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def truncated(self, member: TarMember) -> str | None:
        """Why ``member`` cannot be read whole, or None."""
        lost = member.missing(self.size)
        if not lost:
            return None
        have = max(0, member.size - lost)
        return f"member is truncated: the shard ends {have:,} bytes into its {member.size:,} bytes"


def list_tar(path) -> TarListing:
    """List a shard's regular files (and keep the index for :func:`read_tar_member`)."""
    listing = TarListing()
    try:
        with open(path, "rb") as fh:
            listing.size = os.fstat(fh.fileno()).st_size
            if listing.size == 0:
                listing.problems.append("file is empty (0 bytes)")
            else:
                _walk(fh, listing)
    except OSError as exc:
        listing.problems.append(f"cannot read file ({exc.strerror or exc})")
    _remember(path, listing)
    return listing


def _walk(fh, listing: TarListing) -> None:
    expected = 0  # where the next header should start
    try:
        tar = tarfile.open(fileobj=fh, mode="r:", ignore_zeros=True)
    except (tarfile.TarError, UnicodeError, ValueError) as exc:
        listing.problems.append(f"not a tar file ({exc})")
        return
    with tar:
        while True:
            try:
                info = tar.next()
            except tarfile.ReadError as exc:
                if "unexpected end of data" not in str(exc):  # that one: the last member was cut, said below
                    listing.problems.append(f"tar is damaged after byte {expected:,} ({exc})")
                break
            except (tarfile.TarError, UnicodeError, ValueError) as exc:
                listing.problems.append(f"tar is damaged after byte {expected:,} ({exc})")
                break
            if info is None:
                break
            if info.offset > expected and _holds_data(fh, expected, info.offset):
                listing.problems.append(f"damaged tar header at byte {expected:,}: {info.offset - expected:,} bytes "
                                        f"skipped up to the next member ({info.name})")
            expected = info.offset_data + (-(-info.size // BLOCK) * BLOCK if info.isreg() else 0)
            if info.isreg():
                listing.members.append(TarMember(info.name, info.offset_data, info.size))
    end = min(expected, listing.size)
    if not listing.members and not listing.problems and _holds_data(fh, 0, listing.size):
        listing.problems.append("not a tar file (no valid header)")
    elif end < listing.size and _holds_data(fh, end, listing.size):
        listing.problems.append(f"the shard ends with {listing.size - end:,} bytes after byte {end:,} that are not "
                                "a whole member (truncated or damaged)")


def _holds_data(fh, start: int, stop: int) -> bool:
    """Whether bytes ``start``..``stop`` of the shard hold anything but zeros (tar padding)."""
    fh.seek(start)
    left = stop - start
    while left > 0:
        block = fh.read(min(left, 1 << 20))
        if not block:
            return False
        if block.count(0) != len(block):
            return True
        left -= len(block)
    return False


# ------------------------------------------------------------------------- reading one member
_lock = threading.Lock()
_index: OrderedDict[str, tuple[tuple, int, dict[str, TarMember]]] = OrderedDict()


def _stamp(path) -> tuple:
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _remember(path, listing: TarListing) -> None:
    try:
        stamp = _stamp(path)
    except OSError:
        return
    by_name: dict[str, TarMember] = {}
    for member in listing.members:
        by_name.setdefault(member.name, member)  # the first of two same names, as the listing shows it
    key = os.path.abspath(path)
    with _lock:
        _index[key] = (stamp, listing.size, by_name)
        _index.move_to_end(key)
        while len(_index) > _INDEXED:
            _index.popitem(last=False)


def _members(path) -> tuple[int, dict[str, TarMember]]:
    key, stamp = os.path.abspath(path), _stamp(path)
    with _lock:
        known = _index.get(key)
        if known is not None and known[0] == stamp:
            _index.move_to_end(key)
            return known[1], known[2]
    list_tar(path)
    with _lock:
        known = _index.get(key)
    return (known[1], known[2]) if known is not None else (0, {})


def read_tar_member(shard, name: str, where: str, modality: str | None = None) -> bytes:
    """The bytes of member ``name``; a :class:`MediaError` naming ``where`` when it cannot be read whole."""
    try:
        size, members = _members(shard)
        member = members.get(name)
        if member is None:
            raise MediaError(where, modality, f"no member {name} in {os.path.basename(shard)}")
        with open(shard, "rb") as fh:
            fh.seek(member.offset)
            data = fh.read(member.size)
    except OSError as exc:
        raise MediaError(where, modality, f"cannot read {os.path.basename(shard)} ({exc.strerror or exc})") from exc
    if len(data) < member.size:
        raise MediaError(where, modality, f"member is truncated: the shard ends {len(data):,} bytes into its "
                                          f"{member.size:,} bytes")
    return data
