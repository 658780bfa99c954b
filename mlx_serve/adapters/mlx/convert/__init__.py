"""Hugging Face checkpoints in, converted MLX model directories out (and what they hold)."""
