"""A Python client for an omnidex server (an entry point that imports only the floor:
``omnidex.schemas``, ``types`` and ``errors``, plus httpx and pydantic).

    from omnidex.client import Client

    with Client("http://127.0.0.1:8000") as omni:
        omni.upload(["report.pdf", "talk.mp3"], wait=True)
        for hit in omni.search("who wears sunscreen?").hits:
            print(hit.source, hit.page, hit.start, hit.text[:80])
        for event in omni.stream_answer("Which animal wears sunscreen?"):
            ...

Results are the server's own response models (``omnidex.schemas``);
errors are the server's own exceptions (``omnidex.errors``) with its ``code``
and ``message``, plus :class:`ClientError` when the server cannot be reached.
"""

from omnidex.client.aio import AsyncClient
from omnidex.client.base import ClientError
from omnidex.client.sync import Client

__all__ = ["AsyncClient", "Client", "ClientError"]
