"""Stacks of exposures that hold several CCDs each, one per HDU (a DECam exposure's 60 CCDs).

Each CCD is a stack of its own: the same CCD of every exposure sees the same sky and detector,
so the global mask is counted CCD by CCD, as KBMOD does one chip at a time. Each exposure's
output keeps every CCD in one file, with the input's HDU names and order; ``global_mask.fits``
holds a mask and a count HDU per CCD (``<ccd>`` and ``<ccd>_COUNT``); the summary has a row per
exposure and CCD, with an ``hdu`` column.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from astropy.io import fits
from astropy.table import Table, vstack

from ..errors import ParameterError
from ..io import Extensions, read, registry, write
from ..io import open as open_source
from ..io.extensions import merge_outputs
from ..io.fitsfile import write_atomic

__all__ = ["hdu_labels", "run_per_hdu"]


def hdu_labels(names: Sequence[str]) -> list[str] | None:
    """The HDUs every input holds, one mask or image each, or None when the inputs hold one each.

    Inputs that disagree are refused, naming the first two that do.
    """
    found: list[str] | None = None
    first = ""
    for name in names:
        with open_source(name) as source:
            labels = source.labels() if source.several else None
        if found is None and labels is None:
            return None
        if found is None:
            found, first = labels, name
        elif labels is None or [x.upper() for x in labels] != [x.upper() for x in found]:
            theirs = ", ".join(labels) if labels else "one image"
            raise ParameterError(
                f"{name}: holds {theirs}, {first} holds the HDUs {', '.join(found)}; "
                "a stack needs the same HDUs in every exposure (or pick one with [HDU])"
            )
    return found


def run_per_hdu(
    names: list[str],
    labels: list[str],
    outdir: str,
    run_one: Callable,
    *,
    config,
    to: str | None,
    scheduler: str | None,
    overwrite: bool,
    write_options: Mapping | None,
    summary_file: str,
    global_file: str,
    write_images: bool = False,
    output_name: Callable[[str, bool], str] = lambda path, whole: os.path.basename(path),
):
    """Run the one-HDU pipeline ``run_one`` CCD by CCD in a scratch folder, then assemble the
    per-exposure files, the global mask file and the summary in ``outdir``."""
    fmt = (to or "fits").lower()
    if not registry.get(fmt).per_hdu:
        raise ParameterError(f"--to {fmt}: {fmt} files hold one masked image; give --to fits or decam for CCDs")
    scratch = tempfile.mkdtemp(prefix=".astromask-stack-", dir=outdir)
    try:
        results = {}
        for label in labels:
            folder = os.path.join(scratch, label.replace(",", "_"))
            os.makedirs(folder)
            results[label] = run_one(
                [f"{n}[{label}]" for n in names], folder, config, fmt, scheduler, True, write_options, write_images
            )
        paths = {"summary": os.path.join(outdir, summary_file)}

        def target_of(path: str) -> str:
            return os.path.join(outdir, output_name(path, write_images))

        outputs = _exposures(names, labels, results, target_of, fmt, overwrite)
        if config.global_masking:
            paths["global"] = os.path.join(outdir, global_file)
            _global(results, labels, names[0], paths["global"], overwrite)
        table = _summary(results, labels, outputs)
        table.write(paths["summary"] + ".part", format="ascii.ecsv", overwrite=True)
        os.replace(paths["summary"] + ".part", paths["summary"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    masks = {label: result.global_mask for label, result in results.items()} if config.global_masking else None
    counts = {label: result.counts for label, result in results.items()} if config.global_masking else None
    return replace(results[labels[0]], table=table, global_mask=masks, counts=counts, paths=paths)


def _exposures(names, labels, results, target_of, fmt, overwrite) -> dict[tuple[str, str], str]:
    """Each exposure's CCDs (those not dropped) in one file, ``target_of(its path)``; ``{(file, hdu): path}``."""
    written = {}
    for index, name in enumerate(names):
        with open_source(name) as source:
            layout = source.layout()
        units = []
        for ext, label in zip(layout.extensions, labels):
            output = str(results[label].table["output"][index] or "")
            if output:
                units.append(replace(ext, obj=read(output)))
        if not units:
            continue
        target = target_of(layout.path)
        write(layout.replace(units), target, format=fmt, overwrite=overwrite, allow_loss=True)
        for ext in units:
            written[(name, ext.label)] = target
    return written


def _global(results, labels, reference: str, path: str, overwrite: bool) -> None:
    """One file: per CCD, its global mask (``<ccd>``) and counts (``<ccd>_COUNT``)."""
    with open_source(reference) as source:
        layout: Extensions = source.layout()
    parts = []
    opened = []
    try:
        for ext, label in zip(layout.extensions, labels):
            hdul = fits.open(results[label].paths["global"])
            opened.append(hdul)
            parts.append((replace(ext, header=None), {path: hdul}))
        merged = merge_outputs(parts, main=path)[path]
        merged[0].header.remove("NIMAGES", ignore_missing=True)  # per CCD, on its own count HDU
        write_atomic(merged, path, overwrite=overwrite)
    finally:
        for hdul in opened:
            hdul.close()


def _summary(results, labels, outputs) -> Table:
    tables = []
    for label in labels:
        table = results[label].table.copy()
        table.add_column([label] * len(table), name="hdu", index=2)
        table["output"] = [outputs.get((str(f).rsplit("[", 1)[0], label), "") for f in table["file"]]
        tables.append(table)
    out = vstack(tables, metadata_conflicts="silent")
    out.meta["hdus"] = list(labels)
    return out
