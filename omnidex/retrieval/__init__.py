"""Retrieval (a use case): encode a query for each vector space, fuse the answers in Qdrant,
assemble hits. Imports services and the floor; others use it through ``Retriever``.
"""

from omnidex.retrieval.retriever import Retriever, SearchResult

__all__ = ["Retriever", "SearchResult"]
