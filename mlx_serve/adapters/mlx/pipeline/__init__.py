"""The sentence-transformers pipeline around a backbone: tokenisation, pooling, normalisation."""
