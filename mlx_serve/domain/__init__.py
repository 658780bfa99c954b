"""The domain: value objects, errors and ports. Standard library only."""
