"""The grammars of astromask's text inputs, each reporting errors at a 1-based column of the text
the user typed (:class:`astromask.errors.ParseError`).

So far: flag lists (:mod:`.flags`). The CIAO region (``regions/ciao.py``), DM filter
(``filter/syntax.py``), ``calc`` and CFITSIO-name (``io/names.py``) grammars are to move here
(``docs/architecture.md``).
"""
