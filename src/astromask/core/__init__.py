"""The data types: named bit planes (schema, presets), Mask, MaskedImage, and units of size and angle.

Nothing here reads files or imports a layer above.
"""
