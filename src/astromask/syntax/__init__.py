"""The grammars of astromask's text inputs, each reporting errors at a 1-based column of the text
the user typed (:class:`astromask.errors.ParseError`).

All read with one scanner (:mod:`._scan`: :class:`~._scan.Cursor`, the shared lexemes,
:class:`~._scan.TokenParser`):

* :mod:`.region`: CIAO region strings (``circle(10,10,3)-box(...)``);
* :mod:`.filter`: CIAO virtual file names and DM filters (``evt.fits[sky=region(a.reg),pi=1:300]``),
  which read their regions with :mod:`.region` on their own cursor;
* :mod:`.calc`: ``calc`` expressions (``dmimgcalc``);
* :mod:`.flags`: flag lists (astropy.nddata.bitmask's grammar);
* :mod:`.fits_name`: CFITSIO HDU selectors (``f.fits[SCI,2]``).

``docs/architecture.md`` says why each is written as it is.
"""
