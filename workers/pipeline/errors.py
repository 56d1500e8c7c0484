"""Why the pipeline refuses a document (permanent: retrying cannot help)."""

from __future__ import annotations


class UnprocessableDocument(ValueError):
    """The document holds no text that can be extracted, or is beyond the stated bounds."""
