"""The REST API (an entry point): the FastAPI app, its dependencies (one alias per component),
error handlers, SSE, uploads and metrics; thin handlers in ``routes``. May import every layer
below it and ``omnidex.runtime``.
"""
