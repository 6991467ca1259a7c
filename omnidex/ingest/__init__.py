"""Ingestion: sniff, partition per modality, encode, store; the worker loop that drives it."""
