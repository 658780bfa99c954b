"""Issue 11's targets judged from the benchmarks' printed output (the shapes they print)."""

from __future__ import annotations

from tools.bench_targets import cpu_targets, markdown, number, tables

EMBEDDINGS = """\
| implementation | texts | seconds | texts/s | ratio to sentence-transformers |
|---|---|---|---|---|
| mlx-serve engine (in process) | 300 | 20.00 | 15.0 | 0.85 |
| sentence-transformers (PyTorch CPU) | 300 | 17.00 | 17.6 | 1.00 |
| ONNX Runtime (in process, sorted batches) | 300 | 7.20 | 41.7 | 2.37 |
"""

HTTP = """\
Model /m, server environment default
cold start: ready 2.8 s, first request 1.350 s, warm 1.224 s (1.10x)
| runner | texts/s | ratio to sentence-transformers | ratio to infinity-emb | GPU busy % |
|---|---|---|---|---|
| sentence-transformers in process (batch 32) | 9.2 | 1.00 | - | - |
| HTTP 1 x 1, float | 24.6 | 2.66 | 1.45 | - |
| infinity-emb HTTP 1 x 1, float | 17.0 | 1.84 | - | - |
| HTTP 16 x 1, float | 21.4 | 2.33 | 1.62 | - |
| HTTP 4 x 32, float | 21.4 | 2.33 | 1.91 | - |
| HTTP 1 x 160, float | 23.6 | 2.56 | 2.30 | - |
mlx-serve 16 clients against 1 (float): 0.87x
"""

RERANK = """\
| runner | pairs/s | ratio to CrossEncoder | ratio to infinity-emb | max score diff |
|---:|---:|---:|---:|---:|
| mlx-serve HTTP /v1/rerank | 23.78 | 2.55 | 1.63 | 6e-08 |
| infinity-emb HTTP /rerank | 14.62 | 1.57 | 1.00 | 6e-08 |
"""

QWEN3 = """\
| model | tokens | mlx-serve pairs/s | mlx-serve, no head reuse | transformers pairs/s | ratio |
|---|---:|---:|---:|---:|---:|
| Qwen3-Reranker-0.6B shape (2/28 layers) | 4600 | 2.84 | 2.24 | 2.79 | 1.02x |
"""

CLI = """\
| command | median s | min s | max s | <= 0.3 s? |
|---|---:|---:|---:|---|
| `python -c pass (floor)` | 0.022 | 0.022 | 0.023 | - |
| `mlx-serve list` | 0.092 | 0.092 | 0.093 | yes |
| `mlx-serve show bench` | 0.092 | 0.090 | 0.099 | yes |
| `mlx-serve status (no server)` | 0.118 | 0.117 | 0.136 | yes |
| `mlx-serve status (server running)` | 0.110 | 0.103 | 0.117 | yes |
| `mlx-serve stop (server running, idle)` | 0.375 | 0.350 | 0.412 | no |
"""


def judged(outputs: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {target.name: (target.measured, target.met) for target in cpu_targets(outputs)}


def test_tables_are_read_with_their_headers_and_code_marks_removed():
    [rows] = tables("text before\n" + CLI + "text after")
    assert rows[0] == {"command": "python -c pass (floor)", "median s": "0.022", "min s": "0.022",
                       "max s": "0.023", "<= 0.3 s?": "-"}
    assert len(rows) == 6


def test_numbers_are_read_from_decorated_cells():
    assert number("**0.52x**") == 0.52
    assert number("1,024") == 1024
    assert number("-") is None


def test_each_target_is_judged_from_the_figure_it_names():
    result = judged({"embeddings": EMBEDDINGS, "http": HTTP, "rerank-http": RERANK,
                     "rerank-qwen3": QWEN3, "cli": CLI})
    assert result["CPU in process: engine >= 1.2x sentence-transformers"] == ("0.85x", "no")
    assert result["CPU in process: engine >= 1.0x ONNX Runtime"] == ("0.36x", "no")
    assert result["CPU over HTTP: >= 1.5x infinity-emb in each case"] == (
        "1 x 1: 1.45x; 16 x 1: 1.62x; 4 x 32: 1.91x; 1 request x all: 2.30x", "no")
    assert result["CPU over HTTP: never slower under 16 clients than with one"] == (
        "16 x 1 / 1 x 1: 0.87x", "no")
    assert result["CPU rerank over HTTP: cross-encoder >= 1.5x infinity-emb"] == ("1.63x", "yes")
    assert result["CPU rerank over HTTP: cross-encoder >= 1.2x CrossEncoder"] == ("2.55x", "yes")
    assert result["CPU rerank: Qwen3-Reranker shape >= 1.5x the transformers recipe"] == (
        "1.02x", "no")
    assert result["Cold start: first request after --preload within 2x of warm"] == (
        "1.10x", "yes")
    measured, met = result["CLI: status, stop, list, show <= 0.3 s"]
    assert met == "no"  # stop took 0.375 s
    assert "status (server running): 0.11 s" in measured
    assert "stop (server running, idle): 0.38 s" in measured


def test_every_case_over_the_bar_is_met():
    faster = HTTP.replace("| 1.45 |", "| 1.55 |")
    result = judged({"http": faster})
    assert result["CPU over HTTP: >= 1.5x infinity-emb in each case"][1] == "yes"


def test_a_missing_section_or_row_is_not_measured_rather_than_failed():
    without_peer = HTTP.replace("| HTTP 4 x 32, float | 21.4 | 2.33 | 1.91 | - |\n", "")
    result = judged({"http": without_peer})
    assert result["CPU over HTTP: >= 1.5x infinity-emb in each case"] == (
        "1 x 1: 1.45x; 16 x 1: 1.62x; 1 request x all: 2.30x; 4 x 32 missing", "not measured")
    assert result["CLI: status, stop, list, show <= 0.3 s"] == ("-", "not measured")
    assert "| CPU rerank: Qwen3-Reranker shape >= 1.5x the transformers recipe | - | " \
           "not measured |" in markdown(cpu_targets({}))
