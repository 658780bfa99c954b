"""ONNX Runtime forward passes for BERT-family encoders on the CPU (decision 0022).

The graph is built at load from the weights the MLX loader read; the object that runs it
takes the MLX backbone's place, so tokenisation, batching, pooling and heads stay shared.
"""
