"""Where and in what precision models run: device, compute dtype, batch budget.

The batch budget (``rows * padded length`` of one forward pass) is chosen per device when
not set. Measured on all-MiniLM-L6-v2 (mixed texts, budgets interleaved in one process), MLX's
CPU backend gets *slower per text* as batches grow (activations fall out of the caches):
24.7 / 25.4 / 22.4 / 12.9 texts/s at 512 / 1024 / 2048 / 4096 tokens on an idle-ish 2-core
EPYC, and 14.3 / 13.9 / 15.1 / 14.1 / 8.4 at 64 / 128 / 256 / 512 / 1024 with the machine
loaded by other work; 512 is within 7 % of the best in both. On an H200, 16384 beat 4096 and
65536 for Qwen3-0.6B over HTTP (README).

Shared by the embedding engine and the reranker. Resolve on the compute thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlx_serve.adapters.mlx.models.registry import by_name
from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.domain.metrics import NO_METRICS, InferenceObserver

# Default batch budget per device kind (see the module docstring for the measurements).
BATCH_TOKENS_BY_DEVICE = {"cpu": 512, "gpu": 16384}
# Default batch budget when ONNX Runtime runs the encoder on the CPU (decision 0022), measured
# on its own: all-MiniLM-L6-v2, 300 mixed texts on the quiet 2-core EPYC, in process 111 / 131
# / 124 / 124 texts/s at 256 / 512 / 1024 / 2048 tokens; over HTTP (tools/bench_serving.py,
# 160 texts) 512 beat 2048 in every case: 16 clients x 1 text 95 against 52 texts/s, 4 x 32
# 119 against 90, one request of 160 149 against 117. Big batches lose once the cores are
# shared with the event loop and the clients. (An earlier sweep on a machine loaded by other
# work favoured 2048.)
BATCH_TOKENS_ONNXRUNTIME = 512
CPU_ENGINES = ("auto", "mlx", "onnxruntime")


@dataclass(frozen=True)
class Runtime:
    """Engine settings; ``device``/``dtype`` "auto" are resolved per model at load."""

    # None: the device's default (BATCH_TOKENS_BY_DEVICE); see batch_tokens().
    max_batch_tokens: int | None = None
    dtype: str = "auto"
    device: str = "auto"
    # Vectorised GELU/softmax on the CPU (see fast_ops); False runs MLX's exact kernels.
    fast_cpu_ops: bool = True
    # Told about every forward pass and queue wait (metrics); not a setting, so not compared.
    observer: InferenceObserver = field(default=NO_METRICS, compare=False, repr=False)
    # What runs BERT-family encoders on the CPU: "auto", "mlx" or "onnxruntime" (onnx/).
    cpu_engine: str = "auto"

    def __post_init__(self) -> None:
        if self.max_batch_tokens is not None and self.max_batch_tokens < 1:
            raise InvalidRequest("max_batch_tokens must be at least 1")
        if self.dtype not in ("auto", "float32", "float16", "bfloat16"):
            raise InvalidRequest(f"unknown dtype '{self.dtype}'", param="dtype")
        if self.device not in ("auto", "cpu", "gpu"):
            raise InvalidRequest(f"unknown device '{self.device}'", param="device")
        if self.cpu_engine not in CPU_ENGINES:
            raise InvalidRequest(f"unknown CPU engine '{self.cpu_engine}'", param="cpu_engine")

    def mlx_device(self):  # -> mx.Device
        """The MLX device: the GPU when asked for or available under "auto", else the CPU."""
        import mlx.core as mx

        if self.device == "cpu":
            return mx.cpu
        if self.device == "gpu" or mx.metal.is_available() or _cuda_available():
            return mx.gpu
        return mx.cpu

    def batch_tokens(self, engine: str = "mlx") -> int:
        """The batch token budget: the configured one, else the measured default of the
        device (or of ONNX Runtime when ``engine`` is "onnxruntime")."""
        if self.max_batch_tokens is not None:
            return self.max_batch_tokens
        if engine == "onnxruntime":
            return BATCH_TOKENS_ONNXRUNTIME
        import mlx.core as mx

        return BATCH_TOKENS_BY_DEVICE["cpu" if self.mlx_device() == mx.cpu else "gpu"]

    def compute_dtype(self, family: str):  # -> mx.Dtype
        """float32 on the CPU; on a GPU the family's half dtype (registry); or forced (float16
        becomes bfloat16 for families that overflow it)."""
        import mlx.core as mx

        name = self.dtype
        if name == "auto":
            on_cpu = self.mlx_device() == mx.cpu
            name = "float32" if on_cpu else by_name(family).half_dtype
        elif name == "float16" and not by_name(family).float16_ok:
            name = "bfloat16"  # float16 overflows this family's activations (Gemma3)
        return {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}[name]


def _cuda_available() -> bool:
    import mlx.core as mx

    try:
        return bool(mx.cuda.is_available())
    except AttributeError:
        return False
