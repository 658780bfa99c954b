"""What token-id inputs mean: OpenAI's ``cl100k_base`` ids (the default) or the model's own.

In the OpenAI API token ids *are* ``cl100k_base`` ids, and LangChain's ``OpenAIEmbeddings``
sends them by default. Read as the model's own vocabulary they would give wrong vectors
without an error, so they are decoded to text and the model embeds that text with its own
tokenizer; the vectors are then those of the text. Clients that pre-tokenise with the
model's own tokenizer ask for ``model``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlx_serve.domain.errors import InvalidRequest
from mlx_serve.domain.ports import TokenIdDecoder

CL100K = "cl100k_base"
MODEL = "model"
VOCABULARIES = (CL100K, MODEL)


def check_vocabulary(value: object, param: str = "token_id_vocabulary") -> str:
    """``value`` when it names a vocabulary; InvalidRequest otherwise."""
    if value not in VOCABULARIES:
        choices = " or ".join(f'"{v}"' for v in VOCABULARIES)
        raise InvalidRequest(f"{param} must be {choices}, got {value!r}"[:300], param=param)
    return str(value)


def decode_token_inputs(
    inputs: Sequence[str | Sequence[int]], decoder: TokenIdDecoder, *, param: str = "input"
) -> list[str]:
    """Every token-id list of ``inputs`` as the text it stands for in ``decoder``'s vocabulary.

    An id the vocabulary does not define is a 400 naming the input and the id.
    """
    texts: list[str] = []
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            texts.append(item)
            continue
        try:
            texts.append(decoder.decode(item))
        except LookupError as exc:
            token = getattr(exc, "token", None)
            where = f"{param}[{index}]"
            raise InvalidRequest(
                f"{where} holds token id {token}, which is not a {decoder.name} token id; "
                f"send text, or token ids of the model's own vocabulary with "
                f"token_id_vocabulary: \"model\"",
                param=where,
            ) from None
    return texts
