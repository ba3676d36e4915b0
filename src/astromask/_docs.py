"""Generates docs/schemas.md from the preset registry (``python -m astromask._docs > docs/schemas.md``)."""

from __future__ import annotations

from .presets import PRESETS, preset_table

HEADER = """# Preset mask schemas

Generated from `astromask.presets` by `python -m astromask._docs`; a test checks that this
page matches the registry. Plane `i` is bit `i` (value `1 << i`); missing bits are reserved.

- `rubin`: the Rubin/afw bit map of KBMOD's documentation (seed 000). Real afw files carry
  their own `MP_*` cards, which astromask always prefers (KBMOD's hard-coded map is wrong
  for many DECam difference images from bit 9 up; see docs/formats.md).
- `jwst`: the JWST `pixel` DQ flags of stdatamodels. Files with a `DQ_DEF` table use it.
- `decam_cp`: DECam Community Pipeline data quality. Bit-valued CP masks (before V3.5) map
  bit for bit; the integer codes of CP >= V3.5 map to planes as described in docs/formats.md.
- `maximask`: MaxiMask's 13 contaminant classes (the background class has no bit).
- `ciao`: one `INCLUDE` plane for CIAO's non-zero-includes image masks.
"""


def render() -> str:
    parts = [HEADER]
    for name in PRESETS:
        parts.append(f"\n## `{name}`\n\n{preset_table(name)}\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
