"""An embedding model's forward pass (backbone + sentence-transformers pipeline) under
``mx.compile``, for the GPU path.

On a GPU the server's CPU cost per small request is mostly MLX building and launching one
kernel per graph node: a Qwen3-0.6B pass has hundreds of them. ``mx.compile`` traces the pass
once per input shape, fuses runs of element-wise ops into single kernels and replays the
simplified graph, so each later pass of that shape builds fewer nodes and launches fewer
kernels. The GPU path pads batches to bucketed shapes (runtime/shapes.py) and warms them at
load, so the traces are bounded in number and built before the first request.

Not used on the CPU by default: measured in process on tiny and MiniLM-sized encoders, it
halves the cost of a 1-row pass but is neutral to 10-25 % slower on large batches (see
architecture/decisions/0024-compiled-forward-on-the-gpu.md).
"""

from __future__ import annotations

from collections.abc import Callable

import mlx.core as mx
import mlx.nn as nn

from mlx_serve.adapters.mlx.pipeline.st_pipeline import SentencePipeline

Forward = Callable[[mx.array, mx.array], mx.array]


def plain_forward(backbone: nn.Module, pipeline: SentencePipeline, left_padded: bool
                  ) -> Forward:
    """The pass as a function of (ids, {0,1} mask): float32 sentence vectors, one per row."""

    def forward(ids: mx.array, mask: mx.array) -> mx.array:
        states = backbone(ids, mask)
        return pipeline.vectors(states, mask, left_padded=left_padded).astype(mx.float32)

    return forward


def compiled_forward(backbone: nn.Module, pipeline: SentencePipeline, left_padded: bool
                     ) -> Forward:
    """``plain_forward`` under ``mx.compile`` (traced once per input shape and dtype).

    The weights are captured as constants of the traces: valid because a loaded model's
    weights never change while it is served.
    """
    return mx.compile(plain_forward(backbone, pipeline, left_padded))
