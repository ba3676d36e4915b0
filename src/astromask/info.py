"""What a file holds, HDU by HDU: kind, shape, dtype, and for masks the schema with pixel counts."""

from __future__ import annotations

import logging
import os

import numpy as np
from astropy.io import fits

from .io import open as open_source
from .io.fitsfile import find_hdu, image_shape, is_image_hdu, read_wcs, read_xy0

__all__ = ["file_info", "format_info"]

log = logging.getLogger("astromask")

_BITPIX = {8: "uint8", 16: "int16", 32: "int32", 64: "int64", -32: "float32", -64: "float64"}
_UNSIGNED_BZERO = {16: (2**15, "uint16"), 32: (2**31, "uint32"), 64: (2**63, "uint64")}


def _dtype(header: fits.Header) -> str:
    bitpix = int(header.get("BITPIX", 0))
    bzero, bscale = header.get("BZERO", 0), header.get("BSCALE", 1)
    if bitpix in _UNSIGNED_BZERO and bscale == 1 and bzero == _UNSIGNED_BZERO[bitpix][0]:
        return _UNSIGNED_BZERO[bitpix][1]
    if bitpix > 0 and (bscale != 1 or bzero != 0):
        return "float32 (scaled " + _BITPIX.get(bitpix, str(bitpix)) + ")"
    return _BITPIX.get(bitpix, str(bitpix))


def _schema_rows(mask) -> list[dict]:
    counts = mask.counts()
    total = mask.array.size or 1
    return [
        dict(row, pixels=counts[row["name"]], fraction=counts[row["name"]] / total) for row in mask.schema.describe()
    ]


def _subspace(hdul: fits.HDUList, index: int) -> dict:
    """A filtered block's data subspace (CIAO's ``dmlist subspace``): components, field and region areas.

    Empty unless the block records a region or mask filter; ``field_area`` and
    ``region_area`` are those of the first component's first region or mask,
    the one CIAO's dmextract uses.
    """
    from .filter.subspace import describe_subspace

    components = describe_subspace(hdul, index)
    areas = [area for component in components for area in component["areas"]]
    if not areas:
        return {}
    return {"subspace": components, "field_area": areas[0]["field_area"], "region_area": areas[0]["region_area"]}


def file_info(path: str, *, format: str | None = None, flags: object = None, unknown: str = "error") -> dict:
    """A dictionary describing ``path`` (the data behind ``astromask info``).

    Keys: ``file``, ``format``, ``hdus`` (one dict per HDU with ``index``,
    ``name``, ``kind``, ``shape``, ``dtype`` and, for image HDUs, ``origin``
    and ``wcs``; mask HDUs add ``planes``: rows of ``name``, ``bit``,
    ``value``, ``description``, ``pixels`` and ``fraction``, and with
    ``flags`` a ``selected`` count of the pixels that flag expression selects;
    blocks filtered by a region or mask add ``subspace``, ``field_area`` and
    ``region_area``, see :func:`astromask.filter.describe_subspace`).
    """
    with open_source(path, format=format) as source:
        hdul, fmt, module = source.hdul, source.format, source.functions
        rows = source.describe()
        if source.hdu is not None:  # f.fits[EXT]: that HDU only
            chosen = find_hdu(hdul, source.hdu, source.path)
            rows = [r for r in rows if r["index"] == chosen]
        hdus = []
        for row in rows:
            i = row["index"]
            hdu = hdul[i]
            hdr = hdu.header
            entry = {
                "index": i,
                "name": str(hdr.get("EXTNAME", "PRIMARY" if i == 0 else "")).strip(),
                "kind": row["kind"],
            }
            if hdr.get("EXTVER", 1) != 1:
                entry["extver"] = int(hdr["EXTVER"])
            if is_image_hdu(hdu):
                entry["shape"] = list(image_shape(hdu))
                entry["dtype"] = _dtype(hdr)
                entry["compression"] = hdu.compression_type if isinstance(hdu, fits.CompImageHDU) else None
                entry["origin"] = list(read_xy0(hdr))
                wcs = read_wcs(hdr)
                entry["wcs"] = list(wcs.wcs.ctype) if wcs is not None else None
            elif isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
                entry["shape"] = [int(hdr.get("NAXIS2", 0))]
                entry["dtype"] = "table"
            if row["kind"] == "mask":
                mask = module.mask_at(hdul, source.path, i)
                entry["planes"] = _schema_rows(mask)
                entry["masked_pixels"] = int(np.count_nonzero(mask.any_set()))
                if flags is not None:
                    import warnings

                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        selected = int(np.count_nonzero(mask.select(flags, unknown=unknown)))
                    entry["selected"] = {
                        "flags": str(flags),
                        "pixels": selected,
                        "fraction": selected / (mask.array.size or 1),
                    }
                    for w in caught:
                        log.warning("%s[%s]: %s", path, i, w.message)
            if "extra" in row:
                entry.update(row["extra"])
            entry.update(_subspace(hdul, i))
            hdus.append(entry)
    return {"file": os.fspath(path), "format": fmt, "hdus": hdus}


def format_info(info: dict) -> str:
    """Human-readable text for :func:`file_info` output."""
    lines = [f"{info['file']}: format {info['format']} (sizes: width x height, as NAXIS1 x NAXIS2)"]
    for h in info["hdus"]:
        name = h["name"] + (f",{h['extver']}" if "extver" in h else "")
        shape = "x".join(str(n) for n in reversed(h.get("shape", []))) or "-"  # the JSON keeps numpy's (ny, nx)
        line = f"  HDU {h['index']:<2} {name:<12} {h['kind']:<9} {shape:<12} {h.get('dtype', '-')}"
        if h.get("compression"):
            line += f"  [{h['compression']}]"
        if h.get("origin") and any(h["origin"]):
            line += f"  origin (x0, y0) = ({h['origin'][0]}, {h['origin'][1]})"
        if h.get("wcs"):
            line += f"  WCS {'/'.join(h['wcs'])}"
        lines.append(line)
        if "planes" in h:
            lines.append(f"    {'bit':>3}  {'plane':<20} {'pixels':>10} {'fraction':>9}  description")
            for p in h["planes"]:
                lines.append(
                    f"    {p['bit']:>3}  {p['name']:<20} {p['pixels']:>10} {p['fraction']:>9.4%}  {p['description']}"
                )
            if not h["planes"]:
                lines.append("    (no planes set or named)")
            if "selected" in h:
                sel = h["selected"]
                lines.append(f"    selected by {sel['flags']!r}: {sel['pixels']} pixels ({sel['fraction']:.4%})")
        for key in ("field_area", "region_area"):
            if key in h:
                lines.append(f"    {key.replace('_', ' ')}: {h[key]}")
    return "\n".join(lines)
