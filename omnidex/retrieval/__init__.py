"""Retrieval: encode a query for each vector space and fuse the answers in Qdrant."""

from omnidex.retrieval.retriever import Retriever, SearchResult

__all__ = ["Retriever", "SearchResult"]
