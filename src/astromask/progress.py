"""Progress bars for long jobs: on a terminal only, silent with ``-q`` or when stderr is not a terminal.

The bar is astropy's :class:`~astropy.utils.console.ProgressBar` drawn on
stderr (astropy already stays silent when the stream is not a terminal). The
command line's ``-q`` raises the ``astromask`` logger above WARNING, which
turns bars off too.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

__all__ = ["interruptible", "progress"]

T = TypeVar("T")
R = TypeVar("R")


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


def interruptible(func: Callable[..., R], *args: object, **kwargs: object) -> R:
    """``func(*args, **kwargs)``, with Ctrl-C noticed within a tenth of a second.

    A long call into compiled code (a median filter, L.A.Cosmic) holds Python's
    signal handling until it returns, so Ctrl-C would wait for it (56 s for a 31×31
    median of a 2048² frame). From the main thread the call runs in a helper thread
    while the main thread waits in short steps and raises :class:`KeyboardInterrupt`
    at once; the helper, abandoned, ends with the process. Elsewhere (a worker
    thread, a Dask task) it is a plain call. The result is the same either way.

    >>> interruptible(sum, [1, 2, 3])
    6
    """
    if threading.current_thread() is not threading.main_thread():
        return func(*args, **kwargs)
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = func(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread as it is
            outcome["error"] = exc

    helper = threading.Thread(target=target, name=f"astromask-{getattr(func, '__name__', 'work')}", daemon=True)
    helper.start()
    while helper.is_alive():
        helper.join(0.1)  # the main thread stays where signals are handled
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
