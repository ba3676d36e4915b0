"""Input names to files: the one expander of list files, globs and directories (``stack``, ``maximask``).

Inputs name files (CFITSIO selectors such as ``f.fits[N2]`` allowed), glob
patterns, directories (their FITS files, not recursively) and list files
(``@list.txt``, or any existing ``*.list``/``*.txt`` file: one entry per
line, ``#`` comments, paths relative to the list file, or to the working
directory where only that exists). From globs and directories, DECam Community
Pipeline DQ and weight files (``_ood_``, ``_oow_``) are left out: they are read
as the siblings of their ``_ooi_`` image. Files named one by one, and the
entries of a list, are taken as given: one that does not exist is an error.

A command with its own rule for what a directory holds passes ``keep``
(MaxiMask takes the names with ``fits`` and without ``mask``, as the original).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable

from .errors import FormatError, ParameterError
from .io.fitsfile import parse_fits_name

__all__ = ["FITS_SUFFIXES", "expand_inputs", "fits_image_name"]

#: File name endings taken from directories.
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz", ".fz")
_LIST_SUFFIXES = (".list", ".txt")
_CP_SIBLING = re.compile(r"(_oo[dw]_|\.oo[dw]\.)", re.IGNORECASE)


def _is_list_file(spec: str) -> bool:
    return spec.lower().endswith(_LIST_SUFFIXES) and os.path.isfile(spec)


def _read_list(path: str) -> list[str]:
    if not os.path.isfile(path):
        raise FormatError("list file not found", path=path)
    base = os.path.dirname(path)
    entries = []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            entry = line.split("#", 1)[0].strip()
            if not entry or os.path.isabs(entry):
                entries.extend([entry] if entry else [])
                continue
            entries.append(_list_entry(entry, base))
    return entries


def fits_image_name(name: str) -> bool:
    """The default of what a directory or a glob gives: FITS names, without DECam CP DQ/weight files
    (they come with their image)."""
    base = os.path.basename(name)
    return base.lower().endswith(FITS_SUFFIXES) and not _CP_SIBLING.search(base)


def _list_entry(entry: str, base: str) -> str:
    """A relative list entry: beside the list file, or in the working directory where only that exists
    (MaxiMask 1.4.1 read entries from there); written as given when both are the same file."""
    beside = os.path.join(base, entry)
    here, there = parse_fits_name(entry).path, parse_fits_name(beside).path
    if os.path.exists(here) and (not os.path.exists(there) or os.path.samefile(here, there)):
        return entry
    return beside


def _images_only(names: Iterable[str], keep: Callable[[str], bool] = fits_image_name) -> list[str]:
    return [n for n in names if keep(n)]


def _directory(path: str, keep: Callable[[str], bool]) -> list[str]:
    names = sorted(os.path.join(path, n) for n in os.listdir(path) if os.path.isfile(os.path.join(path, n)))
    return _images_only(names, keep)


def _expand_one(spec: str, *, lists: bool, keep: Callable[[str], bool] = fits_image_name) -> list[str]:
    if lists and spec.startswith("@"):
        return [n for entry in _read_list(spec[1:]) for n in _expand_one(entry, lists=False, keep=keep)]
    if lists and _is_list_file(spec):
        return [n for entry in _read_list(spec) for n in _expand_one(entry, lists=False, keep=keep)]
    if os.path.isdir(spec):
        found = _directory(spec, keep)
        if not found:
            raise FormatError("directory holds no FITS images", path=spec)
        return found
    named = parse_fits_name(spec)  # f.fits[N2]: an existing file with an HDU selector, not a pattern
    if named.hdu is not None and os.path.exists(named.path):
        return [spec]
    if glob.has_magic(spec) and not os.path.exists(spec):
        found = _images_only(sorted(glob.glob(spec)), keep)
        if not found:
            raise FormatError("no image matches this pattern", path=spec)
        return found
    if not os.path.exists(parse_fits_name(spec).path):
        raise FormatError("no such file", path=parse_fits_name(spec).path)
    return [spec]


def expand_inputs(
    specs: Iterable[str | os.PathLike], *, keep: Callable[[str], bool] = fits_image_name, lists: bool = True
) -> list[str]:
    """The image file names that ``specs`` stand for, in order, each once.

    Parameters
    ----------
    specs : iterable of str
        Files, glob patterns, directories, ``@list`` files or ``.list``/``.txt`` files.
    keep : callable
        Which names a directory or a glob gives (default: :func:`fits_image_name`).
    lists : bool
        Read ``@list`` and ``.list``/``.txt`` files as lists of names.

    Returns
    -------
    list of str

    Examples
    --------
    >>> expand_inputs(["data/*_ooi_*.fits", "@more.txt"])  # doctest: +SKIP
    ['data/c4d_170316_062107_ooi_z_ls9.N2.fits', ...]
    """
    names = [n for spec in specs for n in _expand_one(os.fspath(spec), lists=lists, keep=keep)]
    if not names:
        raise ParameterError("no input images given")
    return list(dict.fromkeys(names))
