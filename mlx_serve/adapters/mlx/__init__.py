"""MLX driven adapter: converts checkpoints and runs embedding/reranking models on MLX.

Import ``blas`` (and call ``activate_blas``) before anything here imports ``mlx.core``.
"""
