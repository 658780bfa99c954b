"""Developer tools: tiny test checkpoints, a fake hub, benchmarks."""
