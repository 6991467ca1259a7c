"""Imported by the reader processes' fork server only: loads the document parser and its
language model once, so every reader forked from it starts warm (see ``bounded.py``).

Readers never need torch, which spaCy's thinc imports whenever it can (with CUDA's libraries,
about 450 MB a process): it is kept out. Importing this module anywhere else costs seconds
and is never needed.
"""

import sys

sys.modules.setdefault("torch", None)  # type: ignore[arg-type]

from omnidex.ingest.documents import warm  # noqa: E402

warm()
