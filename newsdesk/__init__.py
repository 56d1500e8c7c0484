"""The ``newsdesk`` command: runs the API, workers, reconciler and an embedded Redis.

It launches the other packages (``services``, ``workers``) by name or as child processes; it
holds no processing logic of its own.
"""
