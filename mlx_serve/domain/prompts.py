"""The prompts an embedding model declares (sentence-transformers' ``prompts``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelPrompts:
    """Named prompt texts prepended to every input text, and the one applied by default.

    ``default_name`` is None or one of ``prompts``' keys (as ``default_prompt_name`` in
    ``config_sentence_transformers.json``).
    """

    prompts: Mapping[str, str] = field(default_factory=dict)
    default_name: str | None = None
