"""Which of a model's own prompts an embedding request gets.

Sources, first that applies: ``prompt_name`` (a name from the model's prompts), then
``input_type`` (``query`` / ``document``, the Cohere/Voyage field; ``search_query`` /
``search_document`` accepted too), then a prompt bound to the alias the client named,
then the model's ``default_prompt_name`` (what ``SentenceTransformer.encode`` applies
when asked for nothing). ``instruction`` (Qwen3's recipe) excludes the others.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.domain.prompts import ModelPrompts

INPUT_TYPES = {"query": "query", "search_query": "query",
               "document": "document", "search_document": "document"}
# Prompt names checkpoints use for each side, in the order we look for them.
QUERY_NAMES = ("query", "search_query", "Retrieval-query", "retrieval.query")
DOCUMENT_NAMES = ("document", "passage", "search_document", "Retrieval-document",
                  "retrieval.passage")


def check_prompt_fields(prompt_name: object, input_type: object, instruction: object) -> None:
    """Shape checks that need no model: types, known input types, no mixing with
    ``instruction``. Raises InvalidRequest naming the field."""
    if prompt_name is not None and (not isinstance(prompt_name, str) or not prompt_name):
        raise InvalidRequest("prompt_name must be a non-empty string", param="prompt_name")
    if input_type is not None and input_type not in INPUT_TYPES:
        raise InvalidRequest(
            f"input_type must be one of {', '.join(INPUT_TYPES)}, got {input_type!r}"[:300],
            param="input_type")
    if instruction is not None and (prompt_name is not None or input_type is not None):
        field = "prompt_name" if prompt_name is not None else "input_type"
        raise InvalidRequest(f"give either instruction or {field}, not both", param=field)


def _listing(prompts: ModelPrompts) -> str:
    names = sorted(prompts.prompts)
    return f"its prompts: {', '.join(names)}" if names else "it has no prompts"


def select_prompt(model: str, prompts: ModelPrompts, *, prompt_name: str | None = None,
                  input_type: str | None = None, bound_name: str | None = None,
                  instruction: str | None = None, texts: bool = True) -> str | None:
    """The prompt text to prepend, or None. Raises InvalidRequest (400) for a prompt name
    the model lacks (naming the prompts it has), a query input type on a model without a
    query prompt, or a prompt asked for with token-id inputs."""
    if instruction is not None:
        return None
    name, param = None, None
    if prompt_name is not None:
        name, param = prompt_name, "prompt_name"
    elif input_type is not None:
        name, param = _for_input_type(model, prompts, INPUT_TYPES[input_type]), "input_type"
        if name is None:  # documents without a document prompt are embedded as they are
            return None
    elif bound_name is not None:
        name, param = bound_name, "model"
    if name is not None:
        if name not in prompts.prompts:
            raise InvalidRequest(f"model '{model}' has no prompt '{name}' ({_listing(prompts)})",
                                 param=param)
        if not texts:
            raise InvalidRequest("prompts apply to texts; token-id inputs cannot take one",
                                 param=param)
        return prompts.prompts[name] or None
    if prompts.default_name is not None and texts:
        return prompts.prompts.get(prompts.default_name) or None
    return None


def _for_input_type(model: str, prompts: ModelPrompts, side: str) -> str | None:
    names: Sequence[str] = QUERY_NAMES if side == "query" else DOCUMENT_NAMES
    found = next((n for n in names if n in prompts.prompts), None)
    if found is None and side == "query":
        raise InvalidRequest(
            f"model '{model}' has no query prompt ({_listing(prompts)}); embed without "
            "input_type, or name a prompt with prompt_name", param="input_type")
    return found
