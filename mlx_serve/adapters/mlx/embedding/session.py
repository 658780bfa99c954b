"""A loaded embedding model and the recipe that turns inputs into vectors.

Everything here runs on the compute thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import mlx.core as mx
import numpy as np
from loguru import logger

from mlx_serve.adapters.mlx.models.loading import compute_dtype_of, load_module, use_fast_cpu_ops
from mlx_serve.adapters.mlx.onnx.selection import select_engine
from mlx_serve.adapters.mlx.pipeline.st_pipeline import family_pipeline
from mlx_serve.adapters.mlx.pipeline.tokenization import Encoded, TextTokenizer
from mlx_serve.adapters.mlx.runtime.batching import pad_rows, plan_batches
from mlx_serve.adapters.mlx.runtime.compiled import Forward, compiled_forward
from mlx_serve.adapters.mlx.runtime.placement import Runtime
from mlx_serve.adapters.mlx.runtime.shapes import (
    bucket_length,
    bucket_rows,
    bucketed_batches,
    warm_up_shapes,
)
from mlx_serve.domain.errors import (
    InputTooLong,
    InvalidRequest,
    MlxServeError,
)
from mlx_serve.domain.inference import EmbedRequest, EmbedResult
from mlx_serve.domain.prompts import ModelPrompts

# A load spends at most about this long building kernels for bucketed shapes (GPU).
WARM_UP_SECONDS = 60.0


class EmbeddingSession:
    """Weights, tokenizer and pooling of one embedding model, ready to embed."""

    def __init__(self, directory: Path, max_length: int, runtime: Runtime) -> None:
        self.runtime = runtime
        self.name = directory.name  # the installed name: the metrics label
        self.device = runtime.mlx_device()
        dtype = compute_dtype_of(directory, runtime)
        with mx.stream(self.device):
            self.module = load_module(directory, dtype)
        # ONNX Runtime may take the backbone's place on the CPU (onnx/selection.py).
        self.engine = select_engine(self.module, runtime.cpu_engine, self.device, dtype,
                                    directory.name)
        self.max_batch_tokens = runtime.batch_tokens(self.engine)  # rows x padded length
        self.family = self.module.family.name
        # Pooling, Dense layers and Normalize as modules.json declares them (st_pipeline).
        self.pipeline = family_pipeline(directory, self.module.family)
        self.left_padded = self.module.family.left_padded
        # Qwen3-Embedding pools the final <|endoftext|>; its tokenizer appends it, but a
        # tokenizer.json without that post-processor would silently degrade every vector.
        self.tokenizer = TextTokenizer(
            directory, max_length,
            ensure_last="<|endoftext|>" if self.family == "qwen3" else None)
        if self.tokenizer.append_id is not None:
            logger.warning("{}: the tokenizer does not append <|endoftext|>; appending it",
                           directory.name)
        self.vocab_size = int(self.module.config.get("vocab_size", 0))
        self.dimensions = self.pipeline.dimensions(
            self.module.family.hidden_size(self.module.config))
        self.model_prompts = ModelPrompts(self.pipeline.prompts,
                                          self.pipeline.default_prompt_name)
        self.forward_batches = 0  # forward passes run so far (observability, tests)
        # GPU: pad batches to bucketed shapes (runtime/shapes.py) so warm_up() can build them all.
        self.bucketed = self.device != mx.cpu
        # GPU: the pass compiled per bucketed shape (runtime/compiled.py: fewer kernels to
        # build and launch per request); the CPU runs it op by op (compiling did not pay there).
        self.compiled: Forward | None = compiled_forward(
            self.module.backbone, self.pipeline, self.left_padded) \
            if self.bucketed and self.engine == "mlx" else None
        fast = runtime.fast_cpu_ops and self.device == mx.cpu and dtype == mx.float32 \
            and use_fast_cpu_ops(self.module.backbone)
        steps = "".join(" + normalize" if step == "normalize" else " + dense"
                        for step in self.pipeline.steps)
        logger.info("loaded {} ({}, {}, {}, pooling {}{}, max {} tokens{})", directory.name,
                    self.family, dtype, self.engine, self.pipeline.pooling, steps, max_length,
                    ", vectorised CPU ops" if fast else "")

    @property
    def memory_bytes(self) -> int:
        return self.module.memory_bytes

    def format_text(self, text: str, instruction: str | None, prompt: str | None = None) -> str:
        """Apply the prompt (the text of one of the model's own prompts, prepended as
        sentence-transformers does) or the instruction as the model's recipe says."""
        if prompt:
            return f"{prompt}{text}"
        if not instruction:
            return text
        if self.family == "qwen3":
            return f"Instruct: {instruction}\nQuery:{text}"
        # sentence-transformers: a named prompt from the checkpoint, or the text itself.
        prompt = self.model_prompts.prompts.get(instruction)
        return f"{prompt if prompt is not None else instruction}{text}"

    def encode_inputs(self, request: EmbedRequest) -> list[Encoded]:
        """Token ids of every input (texts tokenised, id lists validated), request order."""
        texts = {i: self.format_text(x, request.instruction, request.prompt)
                 for i, x in enumerate(request.inputs) if isinstance(x, str)}
        max_length = self.tokenizer.max_length
        keep = request.max_tokens if request.max_tokens and request.max_tokens < max_length \
            else None
        if keep is not None:  # keep the last `keep` tokens (truncate_prompt_tokens)
            encodings = self.tokenizer.encode_last(list(texts.values()), keep)
        else:
            encodings = self.tokenizer.encode(list(texts.values()))
        encoded_texts = dict(zip(texts, encodings, strict=True))
        result: list[Encoded] = []
        for i, item in enumerate(request.inputs):
            if i in encoded_texts:
                encoded = encoded_texts[i]
            else:
                ids = self._check_ids(item, i)
                if keep is not None:
                    encoded = Encoded(ids[-keep:], len(ids) > keep)
                else:
                    encoded = Encoded(ids[:max_length], len(ids) > max_length)
            if not encoded.ids:
                raise InvalidRequest("input is empty", param=f"input[{i}]")
            if encoded.truncated and not request.truncate:
                raise InputTooLong(
                    f"input[{i}] is longer than the model's maximum of {max_length} tokens "
                    "(send shorter input or allow truncation)", param=f"input[{i}]")
            result.append(encoded)
        return result

    def _check_ids(self, item: Sequence[int], index: int) -> list[int]:
        ids = list(item)
        for token in ids:
            if isinstance(token, bool) or not isinstance(token, (int, np.integer)) \
                    or not 0 <= token < self.vocab_size:
                raise InvalidRequest(
                    f"input[{index}] holds token id {token!r} outside the vocabulary "
                    f"(0..{self.vocab_size - 1})", param=f"input[{index}]")
        return [int(t) for t in ids]

    def embed(self, request: EmbedRequest) -> EmbedResult:
        """Embed every input: sort by length, batch under the token budget, restore order."""
        encoded = self.prepare(request)
        return self.finish(request, encoded, self.forward_all(encoded))

    def prepare(self, request: EmbedRequest) -> list[Encoded]:
        """Validate ``request`` and tokenise it (instruction applied), request order.

        Everything that can fail because of one request's content fails here, before its
        inputs are merged with other requests' (see request_merger).
        """
        if request.dimensions is not None and not 0 < request.dimensions <= self.dimensions:
            raise InvalidRequest(
                f"dimensions must be between 1 and {self.dimensions}", param="dimensions")
        return self.encode_inputs(request)

    def forward_all(self, encoded: Sequence[Encoded]) -> np.ndarray:
        """Pooled vectors (full width) of ``encoded``, in its order: sorted by length and
        cut into batches under the token budget, so padding stays small."""
        vectors = np.zeros((len(encoded), self.dimensions), dtype=np.float32)
        batches = plan_batches([len(e.ids) for e in encoded], self.max_batch_tokens)
        if self.bucketed:
            batches = bucketed_batches(batches, self.tokenizer.max_length, self.max_batch_tokens)
        with mx.stream(self.device):
            for batch in batches:
                rows = [encoded[i].ids for i in batch.indices]
                vectors[list(batch.indices)] = self._forward(rows, batch.length)
                self.runtime.observer.forward_batch(
                    self.name, len(rows), batch.padded_tokens, sum(map(len, rows)))
        self.forward_batches += len(batches)
        return vectors

    def finish(self, request: EmbedRequest, encoded: Sequence[Encoded],
               vectors: np.ndarray) -> EmbedResult:
        """The result of ``request`` from its own rows of pooled vectors (dimensions cut and
        re-normalised per request)."""
        if request.dimensions is not None:
            vectors = vectors[:, : request.dimensions]
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        if not np.isfinite(vectors).all():
            raise MlxServeError(f"the model produced non-finite values ({self.family}, "
                                f"{self.module.backbone.__class__.__name__})")
        return EmbedResult(
            vectors=np.ascontiguousarray(vectors, dtype=np.float32),
            prompt_tokens=sum(len(e.ids) for e in encoded),
            truncated_inputs=sum(1 for e in encoded if e.truncated),
        )

    def warm_up(self, seconds: float = WARM_UP_SECONDS) -> int:
        """Run the shapes requests will use once, so kernels are built at load, not on the
        first request (bounded by ``seconds``). Returns the number of shapes run."""
        started = time.monotonic()
        if self.bucketed:
            shapes = warm_up_shapes(self.tokenizer.max_length, self.max_batch_tokens)
        else:  # CPU kernels are shape-independent: one small pass builds them all
            shapes = [(2, min(16, self.tokenizer.max_length))]
        done = 0
        with mx.stream(self.device):
            for rows, length in shapes:
                if done and time.monotonic() - started > seconds:
                    break
                self._forward([[self.tokenizer.pad_id] * length] * rows, length)
                done += 1
        logger.info("warmed up {} batch shapes in {:.1f} s", done, time.monotonic() - started)
        return done

    def _forward(self, rows: list[list[int]], length: int) -> np.ndarray:
        real = len(rows)
        if self.bucketed:  # duplicate rows fill the bucket; their vectors are dropped
            length = bucket_length(length, self.tokenizer.max_length)
            rows = rows + [rows[0]] * (bucket_rows(real) - real)
        ids, mask = pad_rows(rows, length, self.tokenizer.pad_id, left=self.left_padded)
        ids_array = mx.array(ids, dtype=mx.int32)
        mask_array = mx.array(mask, dtype=mx.int32)
        if self.compiled is not None:
            return np.array(self.compiled(ids_array, mask_array)[:real])
        states = self.module.backbone(ids_array, mask_array)
        vectors = self.pipeline.vectors(states, mask_array, left_padded=self.left_padded)
        return np.array(vectors[:real].astype(mx.float32))
