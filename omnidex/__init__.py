"""omnidex: multimodal retrieval-augmented generation over Qdrant.

The package is layered (see the README's "Development" section): the floor
(``config``, ``errors``, ``types``, ``schemas``, ``logs``) imports nothing of
omnidex; services (``db``, ``blobs``, ``store``, ``encoders``, ``media``,
``generation``) import only the floor; use cases (``ingest``, ``retrieval``,
``answering``) import services; entry points (``runtime``, ``api``, ``cli``,
``client``) import what they need below them.
"""

__version__ = "0.1.0"
