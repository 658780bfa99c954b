"""An ONNX Runtime session in the MLX backbone's place: (ids, mask[, token types]) -> states.

Runs on the compute thread, like the MLX backbone it replaces; it is the session's only
caller, so ONNX Runtime's intra-op pool gets every core the process may use.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten

from mlx_serve.adapters.mlx.onnx.graph import (
    INPUTS,
    OUTPUT,
    WORD_VECTORS,
    UnsupportedGraph,
    encoder_graph,
)
from mlx_serve.domain.errors import InvalidRequest

# Protocol buffers cap a serialised model at 2 GiB; the graph holds the weights inline (all
# but the word embeddings, which stay here: see graph.py).
MAX_GRAPH_BYTES = 2**31 - 2**26
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpu_threads(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota
    (a container limited to 2 CPUs on a 64-core host gets 2 threads, not 64)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota readable: the affinity stands
    return max(1, cores)


class OnnxBackbone(nn.Module):
    """BertModel / XLMRobertaModel's last hidden states from ONNX Runtime.

    Keeps only the MLX pooler (BERT's classification head reads ``model.pooler``) and the
    word embedding matrix (numpy; rows looked up per batch); the other weights live in the
    ONNX Runtime session, built from ``backbone``'s.
    """

    def __init__(self, backbone: nn.Module, config: dict[str, Any], *, roberta_positions: bool,
                 threads: int | None = None) -> None:
        super().__init__()
        import onnxruntime as ort

        weights = {name: np.array(value, dtype=np.float32)
                   for name, value in tree_flatten(backbone.parameters())
                   if not name.startswith("pooler.")}
        self._words = weights.pop(WORD_EMBEDDINGS)
        size = sum(w.nbytes for w in weights.values())
        if size > MAX_GRAPH_BYTES:
            raise UnsupportedGraph(f"{size / 2**30:.1f} GiB of float32 weights do not fit one "
                                   "in-memory ONNX model (2 GiB)")
        graph = encoder_graph(weights, config, roberta_positions=roberta_positions)
        del weights
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or cpu_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads sleep instead of spinning: the CPU is shared with the event loop
        # and other models' sessions (no loss measured on MiniLM; decision 0022).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(graph, options,
                                             providers=["CPUExecutionProvider"])
        self.pooler = backbone.pooler
        self.external_bytes = size + self._words.nbytes  # held outside MLX arrays
        self.threads = options.intra_op_num_threads

    def __call__(self, input_ids: mx.array, attention_mask: mx.array,
                 token_type_ids: mx.array | None = None) -> mx.array:
        ids = np.asarray(input_ids, dtype=np.int32)
        types = np.zeros_like(ids) if token_type_ids is None \
            else np.asarray(token_type_ids, dtype=np.int32)
        feeds = dict(zip(INPUTS, (ids, np.asarray(attention_mask, dtype=np.int32), types),
                         strict=True))
        if ids.size and not 0 <= int(ids.min()) <= int(ids.max()) < len(self._words):
            # A tokenizer whose added tokens pass the embedding table: a clear 400, where
            # np.take would raise IndexError (a 500) and MLX would read past the table.
            raise InvalidRequest(f"a token id falls outside the model's {len(self._words)} "
                                 "embedding rows (its tokenizer and weights disagree)")
        feeds[WORD_VECTORS] = np.take(self._words, ids, axis=0)
        (hidden,) = self._session.run([OUTPUT], feeds)
        return mx.array(hidden)
