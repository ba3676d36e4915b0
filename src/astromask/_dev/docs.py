"""Generates docs/schemas.md from the preset registry (``python -m astromask._dev.docs > docs/schemas.md``)."""

from __future__ import annotations

from ..core.presets import PRESETS, made_planes_table, preset_table
from ..core.schema import SYNONYMS

HEADER = """# Preset mask schemas

Generated from `astromask.core.presets` by `python -m astromask._dev.docs`; a test checks that this
page matches the registry. Plane `i` is bit `i` (value `1 << i`); missing bits are reserved.

- `rubin`: the Rubin/afw bit map of KBMOD's documentation (seed 000). Real afw files carry
  their own `MP_*` cards, which astromask always prefers (KBMOD's hard-coded map is wrong
  for many DECam difference images from bit 9 up; see docs/formats.md).
- `jwst`: the JWST `pixel` DQ flags of stdatamodels. Files with a `DQ_DEF` table use it.
- `decam_cp`: DECam Community Pipeline data quality. Bit-valued CP masks (before V3.5) map
  bit for bit; the integer codes of CP >= V3.5 map to planes as described in docs/formats.md.
- `maximask`: MaxiMask's 13 contaminant classes (the background class has no bit).

CIAO image masks are not bit planes: a pixel is included when its value is non-zero and finite
(`astromask.core.mask.included`, used by the filters, the mask algebra and the plain-FITS reader), so
there is no `ciao` preset.
"""


SYNONYM_TEXT = """
## Synonyms

The traditions give some flags different names. Wherever a plane name is asked for
(`--planes`, `--flags`, `--flag-keys`, `--repeated-flag-keys`, a stack configuration, a flag
expression), a name a file lacks is taken as the one of its synonyms the file has, and
`-v` says so (`plane SAT: taken as SATURATED of lsst.images (synonyms)`); masks combined
from files of different traditions keep one plane per flag, under the first file's name.
A name that is neither a plane of the file nor a synonym of one is an error that lists
the file's planes. The table (`astromask.core.schema.SYNONYMS`):

"""


FLAG_TEXT = """
## Flag expressions

`--flags`, `--planes` and `MaskSchema.flags()` take astropy.nddata.bitmask's grammar, for plane
names and integers alike: `item (sep item)...` with one separator kind throughout (`,`, `+` or
`|`), optionally `~` before the whole list (every plane except those) and parentheses around it
(`~(CR,SAT)`). An item is a plane name (case-insensitive; synonyms as below) or an integer; in a
list of several, integers are bit values (powers of two), and one integer alone is a whole bit
mask. `*` is every plane; empty, `NONE` and `INDEF` are none. Malformed text is refused at its
column with what was expected: `BAD,SAT+CR` (mixed separators, column 8), `BAD,,SAT` (empty item,
column 5), `BAD,~SAT` (`~` inside the list), `3,4` (3 is not a bit value), `BAD,2.5`. In Python a
list of names and integers works too; floats and booleans are not bit numbers.
"""


MADE_TEXT = """
## Planes astromask makes

The detectors (`astromask detect`), the stack and the CCDData reader create these planes; their
definitions live in one registry (`astromask.core.presets.MADE_PLANES`), from which this table is
generated. Each is matched with its synonyms when masks of different traditions meet.

"""


def render() -> str:
    parts = [HEADER, FLAG_TEXT, SYNONYM_TEXT]
    parts.extend(f"- {' ↔ '.join(f'`{name}`' for name in group)}\n" for group in SYNONYMS)
    parts.append(MADE_TEXT + made_planes_table() + "\n")
    for name in PRESETS:
        parts.append(f"\n## `{name}`\n\n{preset_table(name)}\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
