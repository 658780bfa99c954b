"""Which engine runs a loaded encoder on the CPU: MLX, or ONNX Runtime (decision 0022).

``auto`` (the default) takes ONNX Runtime when the model runs on the CPU in float32, its
family has a graph here (BERT, XLM-RoBERTa), it is not quantized, its weights fit one
in-memory ONNX model, and ``onnxruntime`` and ``onnx`` import; otherwise MLX, with the reason
logged. ``onnxruntime`` refuses to load a BERT or XLM-RoBERTa model it cannot run on the CPU
(ModelLoadError saying why); other families, and every model on a GPU, run on MLX whatever the
setting (it names the engine of these encoders on the CPU). ``mlx`` never uses ONNX Runtime.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
from loguru import logger

from mlx_serve.adapters.mlx.models.loading import LoadedModule
from mlx_serve.domain.errors import ModelLoadError

MLX = "mlx"
ONNXRUNTIME = "onnxruntime"
# Families with an ONNX graph (onnx/graph.py), and whether they count RoBERTa positions.
ROBERTA_POSITIONS = {"bert": False, "xlm_roberta": True}


def obstacle(module: LoadedModule, device: Any, dtype: mx.Dtype) -> str | None:
    """Why ONNX Runtime cannot run ``module`` here, or None when it can (before building)."""
    if dtype != mx.float32:
        return f"the model computes in {dtype}, not float32"
    if module.family.name not in ROBERTA_POSITIONS:
        return f"the {module.family.name} family has no ONNX graph here (bert, xlm_roberta do)"
    if module.section.get("quantization"):
        return "the model is quantized"
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:  # name is None when a native library is what is missing
        return (f"{error.name or 'onnxruntime'} does not import ({error}; "
                "pip install onnxruntime onnx)")
    return None


def select_engine(module: LoadedModule, setting: str, device: Any, dtype: mx.Dtype,
                  name: str) -> str:
    """Put ONNX Runtime in ``module.backbone``'s place when ``setting`` and the model allow;
    returns the engine that runs it ("mlx" or "onnxruntime"). Raises ModelLoadError when
    ``setting`` is "onnxruntime" and a BERT/XLM-R model cannot run there."""
    if setting == MLX or device != mx.cpu:  # a CPU setting: GPUs always run MLX
        return MLX
    reason = obstacle(module, device, dtype)
    if reason is None:
        from mlx_serve.adapters.mlx.onnx.backbone import OnnxBackbone
        from mlx_serve.adapters.mlx.onnx.graph import UnsupportedGraph

        try:
            module.backbone = OnnxBackbone(
                module.backbone, module.config,
                roberta_positions=ROBERTA_POSITIONS[module.family.name])
            return ONNXRUNTIME
        except UnsupportedGraph as error:
            reason = str(error)
        except Exception as error:  # an ONNX Runtime that refuses the graph: MLX still can
            logger.warning("{}: ONNX Runtime could not load it: {}", name, error)
            reason = f"ONNX Runtime could not load it ({error})"
    if setting == ONNXRUNTIME and module.family.name in ROBERTA_POSITIONS:
        raise ModelLoadError(f"{name} cannot run on ONNX Runtime (MLX_SERVE_CPU_ENGINE="
                             f"onnxruntime): {reason}; set MLX_SERVE_CPU_ENGINE to auto or mlx")
    logger.info("{}: MLX runs it on the CPU ({})", name, reason)
    return MLX
