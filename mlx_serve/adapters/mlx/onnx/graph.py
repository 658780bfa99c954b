"""An ONNX graph of a BERT-family encoder, built from the weights the MLX loader holds.

No export step and no torch: the graph is written node by node with ``onnx.helper`` in
float32, with dynamic batch and sequence axes, and handed to ONNX Runtime as bytes. The
encoder layers use ONNX Runtime's fused CPU kernels directly (the ``com.microsoft``
``Attention``, ``SkipLayerNormalization``, ``BiasGelu`` / ``FastGelu`` ops), the nodes its
own optimiser would fuse a torch export into; the embeddings are standard ops.

Inputs: ``input_ids``, ``attention_mask`` (1 on real tokens), ``token_type_ids`` (int32,
(batch, length)) and ``word_vectors`` (float32, (batch, length, hidden): the rows of the word
embedding matrix, looked up by the caller). The word embeddings stay outside the graph because
protocol buffers cap a serialised model at 2 GiB and XLM-RoBERTa's 250k-row matrix alone is
1 GiB in float32 (bge-m3 fits only without it); the lookup is a memory copy either way.
Output: ``hidden`` (batch, length, hidden), float32.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

MS_DOMAIN = "com.microsoft"
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
WORD_VECTORS = "word_vectors"
OUTPUT = "hidden"
# hidden_act -> the fused op that adds the bias and applies it (None: Add, then the op).
ACTIVATIONS = {"gelu": "BiasGelu", "gelu_new": "FastGelu", "gelu_pytorch_tanh": "FastGelu",
               "gelu_fast": "FastGelu", "relu": None}


class UnsupportedGraph(ValueError):
    """The model's configuration has something this graph builder does not write."""


def encoder_graph(weights: Mapping[str, np.ndarray], config: Mapping[str, Any], *,
                  roberta_positions: bool, name: str = "encoder") -> bytes:
    """The serialised ONNX model of BertModel (``roberta_positions``: XLM-RoBERTa's position
    ids, counted over non-padding tokens from ``pad_token_id + 1``).

    ``weights`` are the MLX backbone's parameters by name (``embeddings.*``,
    ``encoder.layer.N.*``), as float32 numpy arrays, without the word embeddings (an input
    here). Raises UnsupportedGraph.
    """
    from onnx import TensorProto, helper, numpy_helper

    act = str(config.get("hidden_act", "gelu"))
    if act not in ACTIVATIONS:
        raise UnsupportedGraph(f"activation '{act}' has no ONNX graph here")
    heads = int(config["num_attention_heads"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    nodes: list[Any] = []
    initializers: list[Any] = []

    def weight(key: str, array: np.ndarray | None = None) -> str:
        value = np.ascontiguousarray(weights[key] if array is None else array, dtype=np.float32)
        initializers.append(numpy_helper.from_array(value, key))
        return key

    def constant(key: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(array, key))
        return key

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain,
                                      **attrs))
        return output

    def linear_t(key: str) -> str:  # (out, in) -> (in, out) for MatMul
        return weight(f"{key}.weight", weights[f"{key}.weight"].T)

    # Embeddings: word + position + token type, then LayerNorm (standard ops).
    word = WORD_VECTORS
    if roberta_positions:
        pad = int(config.get("pad_token_id", 1))
        real = node("Cast", [node("Not", [node("Equal", ["input_ids", constant(
            "pad_id", np.array(pad, dtype=np.int32))], "is_pad")], "not_pad")], "real",
            to=TensorProto.INT32)
        counted = node("CumSum", [real, constant("axis1", np.array(1, dtype=np.int32))],
                       "counted")
        positions = node("Add", [node("Mul", [counted, real], "counted_real"), "pad_id"],
                         "positions")
    else:
        length = node("Gather", [node("Shape", ["input_ids"], "ids_shape"),
                                 constant("one", np.array(1, dtype=np.int64))], "length")
        steps = node("Range", [constant("zero", np.array(0, dtype=np.int64)), length,
                               "one"], "steps")
        positions = node("Unsqueeze", [steps, constant("axis0", np.array([0], np.int64))],
                         "positions")
    position = node("Gather", [weight("embeddings.position_embeddings.weight"), positions],
                    "position")
    token_type = node("Gather", [weight("embeddings.token_type_embeddings.weight"),
                                 "token_type_ids"], "token_type")
    summed = node("Add", [node("Add", [word, position], "word_position"), token_type],
                  "embedded")
    x = node("LayerNormalization", [summed, weight("embeddings.LayerNorm.weight"),
                                    weight("embeddings.LayerNorm.bias")],
             "embeddings_out", axis=-1, epsilon=eps)

    for index in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{index}"
        qkv = [weights[f"{p}.attention.self.{part}.weight"].T
               for part in ("query", "key", "value")]
        qkv_bias = [weights[f"{p}.attention.self.{part}.bias"]
                    for part in ("query", "key", "value")]
        attended = node("Attention", [
            x, weight(f"{p}.qkv.weight", np.concatenate(qkv, axis=1)),
            weight(f"{p}.qkv.bias", np.concatenate(qkv_bias)), "attention_mask"],
            f"{p}.attention", domain=MS_DOMAIN, num_heads=heads)
        projected = node("MatMul", [attended, linear_t(f"{p}.attention.output.dense")],
                         f"{p}.attention.projected")
        x = node("SkipLayerNormalization", [
            projected, x, weight(f"{p}.attention.output.LayerNorm.weight"),
            weight(f"{p}.attention.output.LayerNorm.bias"),
            weight(f"{p}.attention.output.dense.bias")],
            f"{p}.attention.out", domain=MS_DOMAIN, epsilon=eps)
        widened = node("MatMul", [x, linear_t(f"{p}.intermediate.dense")], f"{p}.widened")
        bias = weight(f"{p}.intermediate.dense.bias")
        fused = ACTIVATIONS[act]
        if fused is None:
            activated = node("Relu", [node("Add", [widened, bias], f"{p}.biased")],
                             f"{p}.activated")
        else:
            activated = node(fused, [widened, bias], f"{p}.activated", domain=MS_DOMAIN)
        narrowed = node("MatMul", [activated, linear_t(f"{p}.output.dense")], f"{p}.narrowed")
        x = node("SkipLayerNormalization", [
            narrowed, x, weight(f"{p}.output.LayerNorm.weight"),
            weight(f"{p}.output.LayerNorm.bias"), weight(f"{p}.output.dense.bias")],
            f"{p}.out", domain=MS_DOMAIN, epsilon=eps)
    nodes.append(helper.make_node("Identity", [x], [OUTPUT], name=OUTPUT))

    batch_length = ["batch", "length"]
    hidden = int(config["hidden_size"])
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.INT32, batch_length) for n in INPUTS]
        + [helper.make_tensor_value_info(WORD_VECTORS, TensorProto.FLOAT,
                                         [*batch_length, hidden])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT,
                                       [*batch_length, hidden])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid(MS_DOMAIN, 1)],
                              producer_name="mlx-serve")
    model.ir_version = 8  # readable by every onnxruntime >= 1.14
    return model.SerializeToString()
