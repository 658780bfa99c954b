"""MLX model code, one module per family, and loading converted weights into it."""
