"""Where and how MLX work runs: the compute thread, BLAS, fast CPU ops, batching, request merging.

Nothing here may import ``mlx.core`` at package import: ``blas`` must run first.
"""
