"""Metrics adapters: the InferenceObserver port on Prometheus."""
