"""The two passes of the stack over files, shared by :func:`~astromask.stack.run_stack` (which
writes) and :func:`~astromask.stack.iter_masked` (which gives the exposures to a consumer).

Pass 1 reads each mask alone (the mask HDUs only) and counts, per pixel, the images, or with
``group_by`` the groups (:mod:`astromask.stack.groups`), with a repeated flag; pass 2 reads one
exposure and masks it (:func:`mask_file`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..errors import FormatError
from ..io import open as open_source
from ..io.fitsfile import stored_float_order
from .config import StackConfig
from .groups import group_of, headers_of
from .masking import _check_shape, _count_dtype, count_repeated, mask_image
from .scheduler import Runner, read_ahead

__all__ = ["count_votes", "mask_file"]

log = logging.getLogger("astromask")


@dataclass(frozen=True)
class _Votes:
    """Pass-1 partial result: repeated-flag counts of some images, the first image's name and
    each image's group.

    One image's vote is kept as packed bits (``packed``, an eighth of a
    boolean array, for the transfers between Dask workers) or, in this
    process, as the boolean array itself; sums as counts.
    With groups, the votes of a group are OR'ed (packed) in ``groups`` and
    counted once, when the reduction ends.
    """

    first: str
    shape: tuple[int, int]
    counts: np.ndarray | None
    packed: bool = False
    groups: Mapping[str, np.ndarray] = field(default_factory=dict)
    members: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of_image(cls, name: str, vote: np.ndarray, group: str | None, pack: bool = True) -> _Votes:
        if group is None:
            if not pack:
                return cls(name, vote.shape, vote, members={name: ""})
            return cls(name, vote.shape, np.packbits(vote, axis=None), packed=True, members={name: ""})
        return cls(name, vote.shape, None, groups={group: np.packbits(vote, axis=None)}, members={name: group})

    def add_to(self, total: np.ndarray) -> None:
        """``total += `` these counts (without the groups)."""
        if self.counts is None:
            return
        if self.packed:
            total += np.unpackbits(self.counts, count=total.size).reshape(self.shape).view(bool)
        else:
            total += self.counts


def _vote(name: str, config: StackConfig, pack: bool = True) -> _Votes:
    """Pass-1 task: read one mask and return where it has a repeated flag (and its group)."""
    with open_source(name) as source:
        mask = source.read_mask()
        group = None
        if config.group_by is not None:
            group = group_of(headers_of(source.hdul), config.group_by, config.night_offset, name)
    log.info("%s: %s planes, repeated flags counted", name, mask.schema.name or "")
    return _Votes.of_image(name, count_repeated(mask, config, name=name), group, pack)


def _accumulate(parts: Iterable[_Votes], dtype: np.dtype, final: bool = False) -> _Votes:
    """The sum of partial counts, in one new array, and the OR of the groups' votes (the parts are
    left as they are, and each may be freed as soon as it is added); ``final`` counts each group once."""
    total = None
    first = ""
    groups: dict[str, np.ndarray] = {}
    members: dict[str, str] = {}
    for part in parts:
        if total is None:
            total, first = np.zeros(part.shape, dtype=dtype), part.first
        _check_shape(total.shape, part.shape, first, part.first)
        part.add_to(total)
        for group, bits in part.groups.items():
            if group in groups:
                np.bitwise_or(groups[group], bits, out=groups[group])
            else:
                groups[group] = bits.copy()
        members.update(part.members)
    if total is None:
        raise ValueError("no votes to add")  # the callers give at least one image
    if final:
        for bits in groups.values():
            total += np.unpackbits(bits, count=total.size).reshape(total.shape).view(bool)
        groups = {}
    return _Votes(first, total.shape, total, groups=groups, members=members)


class _Combine:
    """Pass-1 reduction on Dask: :func:`_accumulate` of some partial results."""

    def __init__(self, dtype: np.dtype, final: bool = False) -> None:
        self.dtype = dtype
        self.final = final

    def __call__(self, parts: Sequence[_Votes]) -> _Votes:
        return _accumulate(parts, self.dtype, self.final)


class _VoteTask:
    """Picklable ``name -> _Votes`` for the schedulers."""

    def __init__(self, config: StackConfig, pack: bool = True) -> None:
        self.config = config
        self.pack = pack

    def __call__(self, name: str) -> _Votes:
        return _vote(name, self.config, self.pack)


def count_votes(runner: Runner, names: list[str], config: StackConfig) -> tuple[np.ndarray, dict[str, str]]:
    """Pass 1: per pixel, the images (or groups) with a repeated flag; and each image's group."""
    what = "groups" if config.group_by is not None else "images"
    log.info("pass 1: counting %s in %d images, per %s", ",".join(config.repeated_flag_keys), len(names), what)
    dtype = _count_dtype(len(names))
    paths = [os.path.abspath(n) for n in names]
    if runner.scheduler is None:  # one count array, added to in place; the next mask read meanwhile
        votes = _accumulate(read_ahead(_VoteTask(config, pack=False), paths), dtype, final=True)
    else:
        votes = runner.reduce(_VoteTask(config), paths, _Combine(dtype), label="stack-count")
        votes = _accumulate([votes], dtype, final=True)
    groups = {name: votes.members.get(path, "") for name, path in zip(names, paths)}
    return votes.counts.astype(dtype, copy=False), groups


def _read_image(name: str) -> tuple[str, MaskedImage | Mask]:
    """:func:`astromask.io.read`, and the format it found; science and variance as stored.

    Floating-point pixels keep the file's byte order (big-endian): pass 2
    only compares them, sets some to NaN and writes them back, all of which
    work on either order, so they are never swapped. The file's HDUs are
    freed on return.
    """
    with open_source(name) as source, stored_float_order():
        return source.format, source.read()


def mask_file(path: str, name: str, config: StackConfig, global_: np.ndarray | None, apply: bool):
    """Read one image and mask it: its format, schema name, the masked image and its statistics."""
    fmt, image = _read_image(path)
    if not isinstance(image, MaskedImage):
        raise FormatError("holds a mask, not an image; stack inputs are images", path=name)
    schema_name = image.mask.schema.name
    out, stats = mask_image(image, config, global_, copy=False, name=name, apply=apply)
    return fmt, schema_name, out, stats
