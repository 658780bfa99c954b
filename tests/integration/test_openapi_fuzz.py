"""Schema fuzz over the server's own OpenAPI document (schemathesis, bounded).

A real server (MLX) with two installed models and an API key: schemathesis generates valid and
invalid requests for every operation of ``/openapi.json`` and checks each answer: no 5xx, the
documented status, content type and headers, and a body that conforms to the document. A
share of the generated bodies is pointed at the installed models (by a hash of the body, so
the run is reproducible) so that the engines, not only the validators, are exercised.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from tests.integration.tiny_rerankers import build_bert_cross_encoder
from tests.support.server import install_minilm, isolated_env, run_cli, start_mlx_serve

pytestmark = pytest.mark.slow

KEY = "fuzz-key"
EMBEDDER, RERANKER = "all-MiniLM-L6-v2", "tiny-rr"
# Model management stays on generated names: the fuzz must not delete the models it uses.
MANAGEMENT = ("/api/pull", "/api/delete")
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("fuzz")
    env = isolated_env(root, {"MLX_SERVE_API_KEY": KEY})
    install_minilm(env, EMBEDDER)
    source = build_bert_cross_encoder(root / "tiny-rr-src")
    pulled = run_cli(["pull", str(source), "--type", "reranker", "--name", RERANKER], env)
    assert pulled.returncode == 0, pulled.stderr
    server = start_mlx_serve(root, env=env)
    yield server
    assert server.stop() == 0, server.log_tail()


def aim_at_installed_models(case) -> None:
    body = case.body
    if not isinstance(body, dict) or case.path in MANAGEMENT or "model" not in body:
        return
    if zlib.crc32(repr(sorted(body.items(), key=str)).encode()) % 2:
        body["model"] = RERANKER if "rerank" in case.path else EMBEDDER


def fuzz(operation, mode: GenerationMode) -> int:
    """Run EXAMPLES_PER_OPERATION generated requests of ``mode``; returns how many ran."""
    calls = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    def run(case) -> None:
        if mode is GenerationMode.POSITIVE:  # a negative case must stay invalid
            aim_at_installed_models(case)
        case.call_and_validate(
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
            # A valid shape may still be refused (an unknown model, too many inputs): a 4xx
            # with the documented envelope is the right answer then, which the other checks
            # verify.
            excluded_checks=[checks.positive_data_acceptance],
        )
        calls.append(case.path)

    run()
    return len(calls)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=lambda m: m.value)
def test_every_operation_conforms(server, mode):
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    ran = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and not operation.body:
            continue  # nothing to get wrong in a bodiless GET
        ran[operation.label] = fuzz(operation, mode)
        assert server.alive(), "the server died during the fuzz:\n" + server.log_tail()
    assert len(ran) >= (15 if mode is GenerationMode.POSITIVE else 10), ran
    assert all(ran.values()), ran
