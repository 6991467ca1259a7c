"""Ingestion (a use case): sniff, intake, one partitioner per modality (``registry``), the
pipeline that encodes and stores items, the worker loop, and reindexing. Imports services and
the floor, never another use case.
"""
