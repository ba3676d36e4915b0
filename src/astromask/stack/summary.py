"""The stack's summary table: one row per image (per image and CCD for exposures of several)."""

from __future__ import annotations

import numpy as np
from astropy.table import MaskedColumn, Table

from ..core.mask import Mask
from .config import StackConfig

__all__ = ["row", "table_of"]


def row(index, name, output, fmt, schema_name, mask: Mask, stats: dict, dropped: bool) -> dict:
    """One image's row: where it came from and went, its statistics and its planes' pixel counts
    (``stats['_planes']`` when the masking counted them, else counted here)."""
    planes = stats.get("_planes") or mask.counts()
    return {
        "index": index,
        "file": name,
        "output": "" if dropped else output,
        "format": fmt,
        "schema": schema_name or "",
        "ny": mask.shape[0],
        "nx": mask.shape[1],
        **{key: value for key, value in stats.items() if key != "_planes"},
        "dropped": dropped,
        "planes": planes,
    }


def table_of(rows: list[dict], config: StackConfig, global_: np.ndarray | None) -> Table:
    """One row per image; ``n_<PLANE>`` columns per plane of any output mask (masked where a file lacks it)."""
    rows = sorted(rows, key=lambda r: r["index"])
    planes = list(dict.fromkeys(name for row in rows for name in row["planes"]))
    scalar = [k for k in rows[0] if k != "planes"] if rows else []
    table = Table()
    for key in scalar:
        table[key] = [row[key] for row in rows]
    for plane in planes:
        values = [row["planes"].get(plane, 0) for row in rows]
        missing = [plane not in row["planes"] for row in rows]
        table[f"n_{plane}"] = MaskedColumn(values, mask=missing, dtype=np.int64) if any(missing) else values
    meta = {key: value for key, value in config.as_dict().items() if value is not None}
    meta["n_images"] = len(rows)
    meta["n_dropped"] = int(sum(bool(r["dropped"]) for r in rows))
    meta["global_pixels"] = None if global_ is None else int(np.count_nonzero(global_))
    table.meta.update(meta)
    return table
