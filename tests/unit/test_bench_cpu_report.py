"""The CPU benchmark report: which runs it makes and how it writes them (no timings involved)."""

from __future__ import annotations

import shlex
from pathlib import Path

from tools.bench_cpu_report import Outcome, Section, assemble, command_line, sections


def test_each_section_is_written_under_the_exact_command_that_produced_it():
    ok = Section("cli", "CLI commands", ("-m", "tools.bench_cli", "--runs", "10"))
    failed = Section("http", "Over HTTP", ("-m", "tools.bench_serving", "--texts", "160"))
    report = assemble(["header line"], [
        Outcome(ok, "| command | median s |\n|---|---:|\n", 12.4, 0),
        Outcome(failed, "", 3.0, 1),
    ])
    lines = report.splitlines()
    assert lines[:3] == ["# CPU benchmark report", "", "header line"]
    cli = lines.index("## CLI commands")
    targets = lines.index("## Targets (issue 11), this run")
    assert targets < cli  # judged from the same run's sections, shown first
    assert "| CLI: status, stop, list, show <= 0.3 s | - | not measured |" in lines[targets:cli]
    assert lines[cli + 2] == "`python -m tools.bench_cli --runs 10` (12 s)"
    assert lines[cli + 4:cli + 6] == ["| command | median s |", "|---|---:|"]
    http = lines.index("## Over HTTP")
    assert lines[http + 2] == "`python -m tools.bench_serving --texts 160` (3 s)"
    assert lines[http + 4] == "**Exit status 1**; its output as printed:"
    assert lines[http + 6] == "(no output)"
    assert report.endswith("(no output)\n")


def test_a_command_with_spaces_in_a_path_is_quoted_so_it_runs_as_printed():
    line = command_line(["-m", "tools.bench_serving", "--infinity-venv", "/tmp/my venv"])
    assert shlex.split(line) == ["python", "-m", "tools.bench_serving", "--infinity-venv",
                                 "/tmp/my venv"]


def test_infinity_is_passed_to_the_http_sections_only_when_there_is_a_venv():
    venv = Path("/opt/infinity")
    with_peer = {s.key: s.args for s in sections(venv, quick=False, overload=False)}
    without = {s.key: s.args for s in sections(None, quick=False, overload=False)}
    for key in ("http", "rerank-http"):
        assert with_peer[key][-2:] == ("--infinity-venv", str(venv))
        assert "--infinity-venv" not in without[key]
    assert "--infinity-venv" not in with_peer["embeddings"]
    assert list(with_peer) == ["embeddings", "http", "rerank-http", "rerank-qwen3", "cli"]


def test_the_http_section_covers_the_four_cases_of_the_issue_over_all_its_texts():
    http = next(s for s in sections(None, quick=False, overload=False) if s.key == "http")
    args = list(http.args)
    texts = args[args.index("--texts") + 1]
    assert args[args.index("--cases") + 1] == f"1x1,16x1,4x32,1x{texts}"


def test_the_overload_run_is_optional():
    keys = [s.key for s in sections(None, quick=True, overload=True)]
    assert keys[-1] == "overload"
    assert "overload" not in [s.key for s in sections(None, quick=True, overload=False)]
