"""Progress bars for long jobs: on a terminal only, silent with ``-q`` or when stderr is not a terminal.

The bar is astropy's :class:`~astropy.utils.console.ProgressBar` drawn on
stderr (astropy already stays silent when the stream is not a terminal). The
command line's ``-q`` raises the ``astromask`` logger above WARNING, which
turns bars off too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress"]

T = TypeVar("T")


def _enabled() -> bool:
    stream = sys.stderr
    quiet = logging.getLogger("astromask").getEffectiveLevel() > logging.WARNING
    return not quiet and hasattr(stream, "isatty") and stream.isatty()


def progress(items: Iterable[T], total: int | None = None) -> Iterator[T]:
    """Yield ``items``, drawing a bar on a terminal's stderr.

    Parameters
    ----------
    items : iterable
        What to iterate over.
    total : int, optional
        Number of items, when ``len(items)`` does not give it.

    Examples
    --------
    >>> [i * i for i in progress(range(3))]  # silent: doctest output is not a terminal
    [0, 1, 4]
    """
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if not total or total < 2 or not _enabled():  # one item: nothing to show
        yield from items
        return
    from astropy.utils.console import ProgressBar

    with ProgressBar(total, file=sys.stderr) as bar:
        for item in items:
            yield item
            bar.update()
