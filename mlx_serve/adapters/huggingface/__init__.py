"""Checkpoints from the Hugging Face Hub (or any server speaking its API at ``HF_ENDPOINT``)."""

from mlx_serve.adapters.huggingface.repository import HuggingFaceRepository
from mlx_serve.adapters.huggingface.retry import Backoff

__all__ = ["Backoff", "HuggingFaceRepository"]
