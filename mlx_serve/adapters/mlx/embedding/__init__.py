"""The EmbeddingEngine port on MLX: engine (load/unload) and session (one loaded model)."""
