"""tiktoken without a network: its cache directory filled from the rank file mlx-serve ships.

tiktoken (what LangChain's OpenAIEmbeddings tokenizes with) downloads ``cl100k_base.tiktoken``
on first use and caches it under ``$TIKTOKEN_CACHE_DIR/<sha1 of the URL>``; it checks the
file's sha256 when it reads it. Writing our copy there makes every tiktoken user offline.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from mlx_serve.adapters.openai_tokens.cl100k import RANK_FILE

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


def fill_tiktoken_cache(directory: Path) -> Path:
    """Write cl100k_base into ``directory`` as tiktoken's cache; point ``TIKTOKEN_CACHE_DIR``
    at the directory returned."""
    directory.mkdir(parents=True, exist_ok=True)
    data = gzip.decompress(RANK_FILE.read_bytes())
    assert hashlib.sha256(data).hexdigest() == CL100K_SHA256
    (directory / hashlib.sha1(CL100K_URL.encode()).hexdigest()).write_bytes(data)
    return directory
