"""Wire contracts of newsdesk: pydantic models and constants shared by the API and the workers.

This package imports only pydantic and the standard library, never ``services`` or ``workers``.
"""
