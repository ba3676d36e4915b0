"""A reader of TensorFlow checkpoints (tensor bundles) that needs no TensorFlow.

A checkpoint ``<prefix>`` is two kinds of files:

``<prefix>.index``
    A LevelDB-style sorted string table (``tensorflow/tsl/lib/io/format.h``):
    data blocks of prefix-compressed ``key -> value`` entries followed by a
    restart array; an index block pointing at the data blocks; a 48-byte
    footer holding the metaindex and index block handles and the magic number
    ``0xdb4775248b80fb57``. Every block ends with a type byte (0 =
    uncompressed) and a masked CRC32C. The value of key ``""`` is a
    ``BundleHeaderProto``; every other key is a tensor name whose value is a
    ``BundleEntryProto`` (dtype, shape, shard, offset, size, masked CRC32C)
    (``tensorflow/core/protobuf/tensor_bundle.proto``).
``<prefix>.data-SSSSS-of-NNNNN``
    The raw little-endian C-order bytes of the tensors, at the offsets given.

The protobuf messages are decoded by hand (varints and length-delimited
fields). Checksums of blocks and tensors are verified.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError, ParameterError

__all__ = ["TensorEntry", "crc32c", "masked_crc32c", "read_checkpoint", "read_index"]

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
_CRC_MASK_DELTA = 0xA282EAD8

#: TensorFlow ``DataType`` enum values and their little-endian NumPy types.
DTYPES = {
    1: "<f4",
    2: "<f8",
    3: "<i4",
    4: "u1",
    5: "<i2",
    6: "i1",
    9: "<i8",
    10: "?",
    17: "<u2",
    19: "<f2",
    22: "<u4",
    23: "<u8",
}


@dataclass(frozen=True)
class TensorEntry:
    """Where and how one tensor is stored (a decoded ``BundleEntryProto``)."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int


# -- CRC32C (Castagnoli) ------------------------------------------------------------------------


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table[n] = c
    return table


_CRC_TABLE = _crc_table()


def _crc_kernel():
    """The table-driven CRC loop, compiled by numba on first use."""
    from numba import njit

    @njit(cache=True)
    def kernel(data, table):
        crc = np.uint32(0xFFFFFFFF)
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> np.uint32(8))
        return crc ^ np.uint32(0xFFFFFFFF)

    return kernel


_KERNEL = []


def crc32c(data: bytes | np.ndarray) -> int:
    """CRC32C (Castagnoli polynomial) of ``data``.

    Examples
    --------
    >>> hex(crc32c(b"123456789"))  # the standard check value
    '0xe3069283'
    """
    if not _KERNEL:
        _KERNEL.append(_crc_kernel())
    buffer = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8)
    return int(_KERNEL[0](buffer.ravel(), _CRC_TABLE))


def masked_crc32c(data: bytes | np.ndarray) -> int:
    """The CRC32C as LevelDB and TensorFlow store it: rotated right by 15 bits plus a constant."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _CRC_MASK_DELTA) & 0xFFFFFFFF


# -- protobuf wire format -----------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode the base-128 varint at ``pos``; return it and the position after it."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ParameterError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _fields(buf: bytes):
    """Yield ``(field number, value)`` of a protobuf message: ints for varint/fixed fields, bytes otherwise."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        else:
            raise ParameterError(f"unsupported protobuf wire type {wire}")
        yield number, value


def _shape(buf: bytes) -> tuple[int, ...]:
    """A ``TensorShapeProto``: repeated ``dim`` (field 2) with ``size`` (field 1)."""
    dims = []
    for number, dim in _fields(buf):
        if number == 2:
            sizes = [v for n, v in _fields(dim) if n == 1]
            dims.append(sizes[0] if sizes else 0)
    return tuple(dims)


def _entry(name: str, buf: bytes) -> TensorEntry:
    """Decode a ``BundleEntryProto``."""
    values = {"dtype": 0, "shape": (), "shard": 0, "offset": 0, "size": 0, "crc32c": 0}
    keys = {1: "dtype", 3: "shard", 4: "offset", 5: "size", 6: "crc32c"}
    for number, value in _fields(buf):
        if number == 2:
            values["shape"] = _shape(value)
        elif number in keys:
            values[keys[number]] = value
        elif number == 7:
            raise ParameterError(f"tensor {name!r} is stored in slices, which this reader does not support")
    return TensorEntry(name, **values)


# -- sorted string table ------------------------------------------------------------------------


def _block(data: bytes, handle: bytes, path: str) -> bytes:
    """The contents of the block a ``(offset, size)`` varint handle points at, checksum verified."""
    offset, pos = _varint(handle, 0)
    size, _ = _varint(handle, pos)
    end = offset + size + BLOCK_TRAILER_SIZE
    if end > len(data):
        raise FormatError("block runs past the end of the index file (truncated?)", path=path)
    contents, kind = data[offset : offset + size], data[offset + size]
    stored = int.from_bytes(data[offset + size + 1 : end], "little")
    if masked_crc32c(data[offset : offset + size + 1]) != stored:
        raise FormatError(f"checksum mismatch in the block at byte {offset}", path=path)
    if kind != 0:
        raise FormatError(f"compressed blocks (type {kind}) are not supported", path=path)
    return contents


def _block_entries(block: bytes):
    """Yield the ``(key, value)`` entries of a table block, undoing the key prefix compression."""
    restarts = int.from_bytes(block[-4:], "little")
    end = len(block) - 4 - 4 * restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + length]
        pos += length


def _table(path: str):
    """Yield every ``(key, value)`` of a sorted string table file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < FOOTER_SIZE or int.from_bytes(data[-8:], "little") != TABLE_MAGIC:
        raise FormatError("not a TensorFlow checkpoint index (bad table magic)", path=path)
    footer = data[-FOOTER_SIZE:]
    _, pos = _varint(footer, _varint(footer, 0)[1])  # skip the metaindex handle
    index = _block(data, footer[pos:], path)
    for _, handle in _block_entries(index):
        yield from _block_entries(_block(data, handle, path))


def read_index(prefix: str | os.PathLike) -> tuple[int, dict[str, TensorEntry]]:
    """The number of data shards and the entries of the checkpoint ``prefix``.

    Parameters
    ----------
    prefix : str or path
        Checkpoint prefix: ``.../variables/variables`` for the files
        ``variables.index`` and ``variables.data-00000-of-00001``.

    Returns
    -------
    num_shards : int
    entries : dict of str to TensorEntry
        One per stored tensor, by name.
    """
    path = f"{prefix}.index"
    num_shards, entries = 1, {}
    try:
        for key, value in _table(path):
            if key == b"":
                header = dict(_fields(value))
                num_shards = header.get(1, 1)
                if header.get(2, 0) != 0:
                    raise FormatError("big-endian checkpoints are not supported", path=path)
            else:
                name = key.decode()
                entries[name] = _entry(name, value)
    except ValueError as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"corrupt checkpoint index: {exc}", path=path) from None
    return num_shards, entries


def _tensor(shard: memoryview, entry: TensorEntry, path: str) -> np.ndarray:
    if entry.offset + entry.size > len(shard):
        raise FormatError(f"tensor {entry.name!r} runs past the end of the data file (truncated?)", path=path)
    raw = np.frombuffer(shard, dtype=np.uint8, count=entry.size, offset=entry.offset)
    if masked_crc32c(raw) != entry.crc32c:
        raise FormatError(f"checksum mismatch in tensor {entry.name!r}", path=path)
    stored = np.dtype(DTYPES[entry.dtype])
    return raw.view(stored).reshape(entry.shape).astype(stored.newbyteorder("="))


def read_checkpoint(prefix: str | os.PathLike) -> dict[str, np.ndarray]:
    """All numeric tensors of a TensorFlow checkpoint, by name, as native-order NumPy arrays.

    Tensors of other types (strings, such as ``_CHECKPOINTABLE_OBJECT_GRAPH``)
    are left out. Checksums are verified.

    Parameters
    ----------
    prefix : str or path
        Checkpoint prefix (without ``.index``).

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    FormatError
        A file is missing, truncated, corrupt or uses a feature this reader
        does not handle (compressed blocks, sliced tensors, big-endian data).

    Examples
    --------
    >>> weights = read_checkpoint("model/variables/variables")  # doctest: +SKIP
    >>> weights["conv1/kernel/.ATTRIBUTES/VARIABLE_VALUE"].shape  # doctest: +SKIP
    (3, 3, 1, 32)
    """
    num_shards, entries = read_index(prefix)
    numeric = [e for e in entries.values() if e.dtype in DTYPES]
    tensors = {}
    for shard in sorted({e.shard for e in numeric}):
        path = f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"
        try:
            with open(path, "rb") as f:
                data = memoryview(f.read())
        except FileNotFoundError:
            raise FormatError("checkpoint data file is missing", path=path) from None
        for entry in (e for e in numeric if e.shard == shard):
            tensors[entry.name] = _tensor(data, entry, path)
    return tensors
