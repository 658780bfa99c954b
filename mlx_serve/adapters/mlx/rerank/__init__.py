"""The Reranker port on MLX: engine (load/unload), pair inputs, scorers."""
