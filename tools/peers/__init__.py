"""Peer servers the benchmarks run beside mlx-serve (each in its own environment)."""
