"""mlx-serve: embedding and reranking server on Apple's MLX."""

__version__ = "0.1.0"
