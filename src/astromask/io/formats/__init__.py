"""One module per file format, each with identify, read, read_mask, describe, mask_at and write
(:mod:`astromask.io.registry` lists them and what each can store)."""
