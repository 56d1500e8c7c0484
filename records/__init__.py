"""The document record: its Redis layout, codec, planned transitions and thin executors.

Both the API (``services``) and the workers (``workers``) use this package, so the record's
layout is written and read in one place. It imports ``contracts``, ``redis`` and the standard
library, never ``services`` or ``workers``.
"""
