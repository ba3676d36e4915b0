"""A whole stack held in memory (:func:`mask_stack`), and what a stack run gives (:class:`StackResult`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table

from ..core.masked_image import MaskedImage
from ..errors import ParameterError
from .config import StackConfig
from .masking import _check_shape, _count_dtype, _dropped, count_repeated, global_mask, mask_image
from .summary import row, table_of

__all__ = ["StackResult", "mask_stack"]


@dataclass
class StackResult:
    """What a stack run produced.

    Attributes
    ----------
    table : astropy.table.Table
        One row per input image (see :func:`run_stack`).
    global_mask : bool array, dict or None
        The global mask (None when ``repeated_flag_keys`` is empty); for exposures of
        several CCDs, ``{hdu: mask}`` (:mod:`astromask.stack.per_hdu`).
    counts : integer array, dict or None
        Per pixel, the number of images with a repeated flag (per CCD likewise).
    images : list of MaskedImage or None
        The masked images (:func:`mask_stack` only; None for dropped images).
    paths : dict
        Files written by :func:`run_stack`: ``'summary'``, ``'global'``.
    """

    table: Table
    global_mask: np.ndarray | None = None
    counts: np.ndarray | None = None
    images: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)

    @property
    def dropped(self) -> list[str]:
        """Names of the images dropped for being too masked."""
        return [str(name) for name, drop in zip(self.table["file"], self.table["dropped"]) if drop]


def mask_stack(
    images: Sequence[MaskedImage], config: StackConfig | None = None, *, groups: Sequence[str] | None = None
) -> StackResult:
    """Run the pipeline on images held in memory (see :func:`run_stack` for files).

    Parameters
    ----------
    images : sequence of MaskedImage
        Not modified. With global masking they must share one shape.
    config : StackConfig, optional
        Default: KBMOD's defaults.
    groups : sequence of str, optional
        The group of each image (a night, a filter): the global mask then counts
        each group once, where any of its images has a repeated flag.

    Returns
    -------
    StackResult
        ``images`` holds the masked images, None for the dropped ones.
    """
    config = config or StackConfig()
    names = [f"image {i}" for i in range(len(images))]
    if groups is not None and len(groups) != len(images):
        raise ParameterError(f"groups: {len(groups)} given for {len(images)} images")
    counts = None
    if config.global_masking:
        votes: dict = {}  # group (or image) -> where any of its images has a repeated flag
        for index, (name, image) in enumerate(zip(names, images)):
            vote = count_repeated(image.mask, config)
            _check_shape(next(iter(votes.values())).shape if votes else vote.shape, vote.shape, names[0], name)
            key = index if groups is None else str(groups[index])
            votes[key] = votes[key] | vote if key in votes else vote
        counts = np.zeros(images[0].shape, dtype=_count_dtype(len(images)))
        for vote in votes.values():
            counts += vote
    global_ = None if counts is None else global_mask(counts, config)
    outputs, rows = [], []
    for index, (name, image) in enumerate(zip(names, images)):
        out, stats = mask_image(image, config, global_)
        dropped = _dropped(stats, config)
        outputs.append(None if dropped else out)
        rows.append(row(index, name, "", "", image.mask.schema.name, out.mask, stats, dropped))
    return StackResult(table_of(rows, config, global_), global_, counts, outputs)
