"""The shipped cl100k_base decoder against tiktoken itself (offline, from the same file)."""

from __future__ import annotations

import pytest

from mlx_serve.adapters.openai_tokens.cl100k import Cl100kDecoder, UnknownTokenId
from tests.support.tiktoken_offline import fill_tiktoken_cache

TEXTS = [
    "Hello world",
    "",
    "  leading and trailing spaces  ",
    "Ünïcödé, 日本語のテキスト, emoji 🙂👍🏽, Ελληνικά, עברית",
    "code: def f(x):\n\treturn x ** 2  # comment\r\n",
    "numbers 3.14159 1e-9 -42 0x1F and URLs https://example.com/a?b=c",
    "word " * 500,
]


@pytest.fixture(scope="module")
def encoding(tmp_path_factory):
    cache = fill_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        import tiktoken

        yield tiktoken.get_encoding("cl100k_base")


@pytest.fixture(scope="module")
def decoder():
    return Cl100kDecoder()


@pytest.mark.parametrize("text", TEXTS)
def test_decoding_tiktoken_ids_gives_back_the_text(encoding, decoder, text):
    ids = encoding.encode(text)
    assert decoder.decode(ids) == text == encoding.decode(ids)


def test_every_id_decodes_like_tiktoken(encoding, decoder):
    ids = list(range(0, 100256, 7)) + [100257, 100276]
    # Split UTF-8 sequences become U+FFFD in both.
    assert decoder.decode(ids) == encoding.decode(ids)
    assert decoder.vocabulary_size == encoding.n_vocab


@pytest.mark.parametrize("token", [100256, 100261, 100275, 100277, 10**9, -1])
def test_ids_outside_the_vocabulary_are_refused(decoder, token):
    with pytest.raises(UnknownTokenId) as err:
        decoder.decode([9906, token])
    assert err.value.token == token
