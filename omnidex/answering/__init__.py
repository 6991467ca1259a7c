"""Answering (a use case): the RAG answer. Context packing, prompts, citations, the media a
model sees, and the events of an answer. Stands on ``omnidex.retrieval.Retriever`` and the
``generation`` backends; imports services and the floor.
"""
