"""Reference rerankers on transformers (PyTorch, CPU, float32) for parity tests and benchmarks.

``Qwen3RerankerReference`` is the official Qwen3-Reranker usage code (model card of
Qwen/Qwen3-Reranker-0.6B) turned into a class, unchanged in substance: the same prefix and
suffix, ``tokenizer(pairs, truncation="longest_first", max_length=max_length - prefix -
suffix)``, left padding, the logits of ``yes``/``no`` at the last position, and
``log_softmax`` over ``[no, yes]``. ``CrossEncoderReference`` is what sentence-transformers'
CrossEncoder does for a one-label model: the tokenizer's pair encoding, longest-first
truncation, sigmoid of the logit.

Nothing here is imported by the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
PREFIX = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query "
    'and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n'
    "<|im_start|>user\n"
)
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def format_instruction(instruction: str | None, query: str, doc: str) -> str:
    if instruction is None:
        instruction = DEFAULT_INSTRUCTION
    return f"<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}"


class Qwen3RerankerReference:
    """The official Qwen3-Reranker recipe on transformers."""

    def __init__(self, path: str | Path, max_length: int = 8192, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), padding_side="left")
        self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).eval()
        self.max_length = max_length
        self.token_false_id = self.tokenizer.convert_tokens_to_ids("no")
        self.token_true_id = self.tokenizer.convert_tokens_to_ids("yes")
        self.prefix_tokens = self.tokenizer.encode(PREFIX, add_special_tokens=False)
        self.suffix_tokens = self.tokenizer.encode(SUFFIX, add_special_tokens=False)

    def process_inputs(self, pairs: list[str]) -> dict[str, torch.Tensor]:
        inputs = self.tokenizer(
            pairs,
            padding=False,
            truncation="longest_first",
            return_attention_mask=False,
            max_length=self.max_length - len(self.prefix_tokens) - len(self.suffix_tokens),
        )
        for i, ele in enumerate(inputs["input_ids"]):
            inputs["input_ids"][i] = self.prefix_tokens + ele + self.suffix_tokens
        return self.tokenizer.pad(
            inputs, padding=True, return_tensors="pt", max_length=self.max_length
        )

    @torch.no_grad()
    def compute_logits(self, inputs: dict[str, torch.Tensor]) -> list[float]:
        # logits_to_keep=1: only the last position's logits, the only ones the recipe reads
        # (the same numbers; a full (batch, length, 151k) logits tensor is gigabytes).
        batch_scores = self.model(**inputs, logits_to_keep=1).logits[:, -1, :]
        true_vector = batch_scores[:, self.token_true_id]
        false_vector = batch_scores[:, self.token_false_id]
        batch_scores = torch.stack([false_vector, true_vector], dim=1)
        batch_scores = torch.nn.functional.log_softmax(batch_scores, dim=1)
        return batch_scores[:, 1].exp().tolist()

    def score(
        self,
        query: str,
        documents: Sequence[str],
        instruction: str | None = None,
        batch_size: int | None = None,
    ) -> list[float]:
        """P(yes) for each document, in order; ``batch_size`` None scores all in one batch."""
        pairs = [format_instruction(instruction, query, doc) for doc in documents]
        size = batch_size or len(pairs)
        scores: list[float] = []
        for start in range(0, len(pairs), size):
            scores += self.compute_logits(self.process_inputs(pairs[start : start + size]))
        return scores


class CrossEncoderReference:
    """A ``*ForSequenceClassification`` cross-encoder as sentence-transformers runs it."""

    def __init__(self, path: str | Path, max_length: int | None = None, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model = AutoModelForSequenceClassification.from_pretrained(
            str(path), dtype=torch.float32
        ).eval()
        self.max_length = max_length or self.model.config.max_position_embeddings

    @torch.no_grad()
    def score(
        self,
        query: str,
        documents: Sequence[str],
        instruction: str | None = None,
        batch_size: int | None = None,
    ) -> list[float]:
        """sigmoid(logit) for each document, in order (``instruction`` is not used)."""
        size = batch_size or len(documents)
        scores: list[float] = []
        for start in range(0, len(documents), size):
            docs = list(documents[start : start + size])
            features = self.tokenizer(
                [query] * len(docs),
                docs,
                padding=True,
                truncation="longest_first",
                max_length=self.max_length,
                return_tensors="pt",
            )
            if self.model.config.type_vocab_size == 1:
                # XLM-R tokenizers return no token types; the model has one type only.
                features.pop("token_type_ids", None)
            logits = self.model(**features).logits
            scores += torch.sigmoid(logits[:, 0]).tolist()
        return scores
