"""A raw walk over a FITS file's headers before astropy parses them.

astropy trusts the structural cards: a primary header with ``NAXIS = 99999999999999999999``
sends it into a loop over that many axes, and a huge ``NAXISn`` makes it compute offsets far
past the end of the file. This walk reads each header as 80-byte cards, checks the cards that
decide the layout (BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT) as the FITS standard (§4.4.1) defines
them, and steps over each HDU's data, so any header is refused or read in time proportional to
the file's size. It also counts the bytes of a gzip or bzip2 stream, which astropy reads as a
shorter file without a word when the stream is cut.

Anything it does not recognise (no ``SIMPLE`` first, a header cut before ``END``) it leaves to
astropy and ``fitsfile.check_complete``, which give their own messages.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import FormatError

_T = TypeVar("_T")

BLOCK = 2880  # bytes: headers and data are padded to whole blocks
CARD = 80
BITPIX = (8, 16, 32, 64, -32, -64)
MAX_NAXIS = 999
MAX_TFIELDS = 999  # FITS standard §7.3.1

_INTEGER = re.compile(rb"\s*([+-]?[0-9]+)\s*(?:/.*)?$", re.DOTALL)
_STRING = re.compile(rb"\s*'((?:[^']|'')*)'")


@dataclass(frozen=True)
class Layout:
    """What the walk learned: the bytes in the (decompressed) stream and the HDUs it could step over."""

    size: int
    hdus: int


class _Stream:
    """Sequential reads over a plain or compressed file; ``skip`` seeks where it can."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as probe:
            magic = probe.read(3)
        self.compression: str | None = None
        self._handle: io.BufferedIOBase
        if magic.startswith(b"\x1f\x8b"):
            self.compression, self._handle = "gzip", gzip.GzipFile(path, "rb")
        elif magic.startswith(b"BZh"):
            self.compression, self._handle = "bzip2", bz2.BZ2File(path, "rb")
        else:
            self._handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.position = 0

    def read(self, count: int) -> bytes:
        data: bytes = self._handle.read(count)
        self.position += len(data)
        return data

    def skip(self, count: int) -> None:
        """Step ``count`` bytes forward, or to the end of the stream if it is shorter."""
        if self.compression is None:
            end = os.fstat(self._handle.fileno()).st_size
            self.position = min(end, self.position + count)
            self._handle.seek(self.position)
            return
        while count > 0 and (data := self.read(min(count, 1 << 22))):
            count -= len(data)

    def rest(self) -> None:
        self.skip(1 << 62)

    def close(self) -> None:
        self._handle.close()


def _label(index: int, cards: dict[bytes, bytes]) -> str:
    """The label ``fitsfile.hdu_label`` would give, from raw cards."""
    name = ""
    if b"EXTNAME" in cards and (m := _STRING.match(cards[b"EXTNAME"])):
        name = m.group(1).decode("ascii", "replace").replace("''", "'").rstrip()
    elif index == 0:
        name = "PRIMARY"
    version = 1
    if b"EXTVER" in cards and (m := _INTEGER.match(cards[b"EXTVER"])):
        version = int(m.group(1))
    if name and version != 1:
        return f"{index} ({name},{version})"
    return f"{index} ({name})" if name else str(index)


def _integer(cards: dict[bytes, bytes], key: str, path: str, label: str, low: int, high: int | None = None) -> int:
    raw = cards.get(key.encode())
    if raw is None:
        raise FormatError(f"HDU {label}: the required card {key} is missing", path=path)
    m = _INTEGER.match(raw)
    if m is None:
        shown = raw.split(b"/")[0].strip().decode("ascii", "replace")[:40]
        raise FormatError(f"HDU {label}: card {key} = {shown} is not an integer", path=path)
    return in_range(int(m.group(1)), key, path, label, low, high)


def in_range(value: int, key: str, path: str, label: str, low: int, high: int | None = None) -> int:
    """``value`` of structural card ``key``, refused outside ``low..high`` (the one message for the raw
    walk here and for the checks after astropy has parsed the headers, ``_validate``)."""
    if value < low or (high is not None and value > high):
        span = f"is outside {low}..{high}" if high is not None else f"must be >= {low}"
        shown = str(value) if len(str(value)) <= 24 else str(value)[:20] + "..."
        raise FormatError(f"HDU {label}: card {key} = {shown} {span}", path=path)
    return value


class _NotAHeader(Exception):
    """The block where a header should start holds something else."""

    def __init__(self, block: bytes):
        self.block = block


def _header(stream: _Stream) -> dict[bytes, bytes] | None:
    """The value fields of one header's keyword cards, or None if the stream ends before END."""
    cards: dict[bytes, bytes] = {}
    first = True
    while len(block := stream.read(BLOCK)) == BLOCK:
        for start in range(0, BLOCK, CARD):
            card = block[start : start + CARD]
            key = card[:8].rstrip()
            if first:
                first = False
                if key not in (b"SIMPLE", b"XTENSION"):
                    raise _NotAHeader(block)
            if key == b"END":
                return cards
            if card[8:10] == b"= " and key not in cards:
                cards[key] = card[10:]
    return None


#: the extension types of the FITS standard (§7 and the reserved names of its appendix)
XTENSIONS = (b"IMAGE", b"BINTABLE", b"TABLE", b"IUEIMAGE", b"A3DTABLE", b"FOREIGN", b"DUMP")


def _check_kind(cards: dict[bytes, bytes], path: str, label: str, index: int) -> None:
    """The primary must say ``SIMPLE = T``; an extension must name a standard type."""
    if index == 0:
        simple = cards.get(b"SIMPLE", b"").split(b"/")[0].strip()
        if simple != b"T":
            shown = simple.decode("ascii", "replace")[:20]
            raise FormatError(
                f"HDU {label}: card SIMPLE = {shown} (the file does not follow the FITS standard)", path=path
            )
        return
    m = _STRING.match(cards.get(b"XTENSION", b""))
    kind = m.group(1).rstrip() if m else None
    if kind not in XTENSIONS:
        shown = cards.get(b"XTENSION", b"").split(b"/")[0].strip().decode("ascii", "replace")[:20]
        names = ", ".join(k.decode() for k in XTENSIONS[:3])
        raise FormatError(f"HDU {label}: card XTENSION = {shown} is not an extension type ({names})", path=path)


def _data_size(cards: dict[bytes, bytes], path: str, label: str, index: int) -> int:
    _check_kind(cards, path, label, index)
    bitpix = cards.get(b"BITPIX")
    m = _INTEGER.match(bitpix) if bitpix is not None else None
    if m is None or int(m.group(1)) not in BITPIX:
        shown = "missing" if bitpix is None else bitpix.split(b"/")[0].strip().decode("ascii", "replace")[:24]
        raise FormatError(f"HDU {label}: card BITPIX = {shown} is not one of {BITPIX}", path=path)
    naxis = _integer(cards, "NAXIS", path, label, 0, MAX_NAXIS)
    axes = [_integer(cards, f"NAXIS{axis}", path, label, 0) for axis in range(1, naxis + 1)]
    pcount, gcount = 0, 1
    if index > 0:
        pcount = _integer(cards, "PCOUNT", path, label, 0)
        gcount = _integer(cards, "GCOUNT", path, label, 1)
        xtension = _STRING.match(cards.get(b"XTENSION", b""))
        if xtension and xtension.group(1).strip() in (b"BINTABLE", b"TABLE"):  # astropy makes TFIELDS columns
            _integer(cards, "TFIELDS", path, label, 0, MAX_TFIELDS)
        if xtension and xtension.group(1).strip() == b"IMAGE" and (pcount, gcount) != (0, 1):
            raise FormatError(
                f"HDU {label}: an image extension needs PCOUNT = 0 and GCOUNT = 1, got {pcount} and {gcount}",
                path=path,
            )
    elif axes and axes[0] == 0 and cards.get(b"GROUPS", b"").strip().startswith(b"T"):  # random groups
        axes = axes[1:]
        pcount = _integer(cards, "PCOUNT", path, label, 0) if b"PCOUNT" in cards else 0
        gcount = _integer(cards, "GCOUNT", path, label, 1) if b"GCOUNT" in cards else 1
    elements = 1
    for length in axes:
        elements *= length
    if not axes:
        elements = 0
    return abs(int(m.group(1))) // 8 * gcount * (pcount + elements)


def scan(path: str) -> Layout:
    """Walk ``path``'s headers (cached per file version); raise FormatError on an impossible card."""
    stat = os.stat(path)
    return _scan(os.path.realpath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _scan(path: str, mtime_ns: int, size: int) -> Layout:
    stream = _Stream(path)
    index = 0
    try:
        label = ""
        while True:
            at = stream.position
            try:
                cards = _read(stream, _header, path)
            except _NotAHeader as stop:
                if index and stop.block.strip(b"\0 "):  # zeros or blanks after the last HDU are padding
                    raise FormatError(
                        f"the {stream.compression or 'file'} has bytes at {at} after the data of HDU {label} "
                        "that do not start a FITS header (does that HDU declare too little data: NAXISn, "
                        "BITPIX, PCOUNT?)",
                        path=path,
                    ) from None
                break
            if cards is None:
                break
            label = _label(index, cards)
            size = _data_size(cards, path, label, index)
            start = stream.position
            _read(stream, functools.partial(_Stream.skip, count=-(-size // BLOCK) * BLOCK), path)
            if stream.position < start + size:  # the padding after the last HDU may be missing
                raise FormatError(
                    f"truncated: HDU {label} declares {size} bytes of data ending at byte {start + size}, "
                    f"but the file has {stream.position} bytes",
                    path=path,
                )
            index += 1
        _read(stream, _Stream.rest, path)
    finally:
        stream.close()
    return Layout(size=stream.position, hdus=index)


def _read(stream: _Stream, step: Callable[[_Stream], _T], path: str) -> _T:
    """``step(stream)``, with a cut or corrupt compressed stream as a FormatError."""
    try:
        return step(stream)
    except (EOFError, OSError, ValueError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        what = f"the {stream.compression} stream" if stream.compression else "the file"
        raise FormatError(f"{what} is cut or corrupt ({exc})", path=path) from None
