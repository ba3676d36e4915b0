"""Sizes from the user checked against memory before anything is allocated.

A size that would not fit (``geom --binsz 0.0001deg --width 180deg`` asks for a 1.8 million
pixel square) is a :class:`~astromask.errors.LimitError` saying how much would be needed and
how much the machine has, not a ``MemoryError`` traceback after minutes of swapping.
"""

from __future__ import annotations

import os

from .errors import LimitError

__all__ = ["available_memory", "check_memory", "describe_bytes"]


def available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable``, else the physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: do not refuse


def describe_bytes(n: float) -> str:
    """``'2.9 TB'``, ``'512 MB'``: decimal units, as ``df -H`` gives them."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def check_memory(nbytes: float, what: str) -> None:
    """Refuse an allocation of ``nbytes`` (for ``what``: the option that asked for it) that cannot fit."""
    have = available_memory()
    if nbytes > have:
        raise LimitError(f"{what} needs {describe_bytes(nbytes)} of memory, and {describe_bytes(have)} is available")
