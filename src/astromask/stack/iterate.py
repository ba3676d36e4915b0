"""Masked exposures streamed to a consumer in memory (a search), nothing written:
:func:`iter_masked`."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..core.masked_image import MaskedImage
from ..errors import ParameterError
from ..inputs import expand_inputs
from .config import StackConfig
from .masking import _dropped, global_mask
from .passes import count_votes, mask_file
from .per_hdu import hdu_labels
from .scheduler import Runner, check_scheduler, read_ahead

__all__ = ["MaskedExposure", "iter_masked"]

log = logging.getLogger("astromask")


@dataclass
class MaskedExposure:
    """One exposure masked in memory by :func:`iter_masked`.

    Attributes
    ----------
    index : int
        Its place among the inputs.
    name : str
        Its file.
    image : MaskedImage
        Science and variance NaN where masked; the mask with ``STACK_MASKED``
        (and ``GLOBAL``, ``NO_DATA``) added, as :func:`run_stack` writes it.
    stats : dict
        Its summary row's statistics (:func:`~astromask.stack.mask_image`).
    group : str
        Its group with ``group_by`` (else ``''``).
    """

    index: int
    name: str
    image: MaskedImage
    stats: dict
    group: str = ""


def iter_masked(
    inputs: Sequence[str | os.PathLike] | str,
    config: StackConfig | None = None,
    *,
    scheduler: str | None = None,
) -> Iterator[MaskedExposure]:
    """The exposures of a stack, masked the KBMOD way, one at a time, for a consumer (a search)
    that works in memory: nothing is written.

    Pass 1 (with ``repeated_flag_keys``) reads every mask and makes the global mask before the
    first exposure is given, on ``scheduler`` when one is named; pass 2 reads and masks the next
    exposure in a thread while the consumer works on the current one. Memory: the global mask
    and its counts, the exposure given and the one read ahead (a third when the consumer keeps
    the previous one). Exposures that the drop rules remove (``max_masked_pixels``,
    ``min_usable``) are not given; they are logged.

    Examples
    --------
    >>> import astromask
    >>> from astromask import MaskedImage, get_schema
    >>> for i in range(3):
    ...     mi = MaskedImage(np.ones((20, 30), np.float32), schema=get_schema("rubin"))
    ...     mi.mask.set("CR", (5, 6))  # in every exposure: global
    ...     astromask.write(mi, f"exp{i}.fits", format="afw")
    >>> config = StackConfig(repeated_flag_keys=["CR"], mask_grow=1)
    >>> [(e.name, int(np.isnan(e.image.image).sum())) for e in iter_masked("exp*.fits", config)]
    [('exp0.fits', 5), ('exp1.fits', 5), ('exp2.fits', 5)]
    """
    config = config or StackConfig()
    check_scheduler(scheduler)
    names = expand_inputs([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)
    if hdu_labels(names) is not None:
        raise ParameterError(
            f"{names[0]}: holds several CCDs; iterate over one at a time, naming it as {names[0]}[CCD]"
        )
    global_ = None
    groups: dict[str, str] = {}
    if config.global_masking:
        with Runner(scheduler) as runner:
            counts, groups = count_votes(runner, names, config)
        global_ = global_mask(counts, config)
        del counts

    def load(index: int) -> tuple[MaskedExposure, bool]:
        name = names[index]
        _, _, image, stats = mask_file(os.path.abspath(name), name, config, global_, True)
        return MaskedExposure(index, name, image, stats, groups.get(name, "")), _dropped(stats, config)

    for exposure, dropped in read_ahead(load, range(len(names)), bar=False):
        if dropped:
            log.warning(
                "dropped %s: %.1f %% masked, %.1f %% usable",
                exposure.name,
                100 * exposure.stats["masked_fraction"],
                100 * exposure.stats["usable_fraction"],
            )
            continue
        yield exposure
        del exposure
