"""omnidex: multimodal retrieval-augmented generation over Qdrant."""

__version__ = "0.1.0"
