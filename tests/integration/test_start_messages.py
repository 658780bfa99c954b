"""What the server says about itself at start: the active BLAS (one INFO line, and in
/health), why a named BLAS did not load, and a missing C++ compiler; each with its fix."""

from __future__ import annotations

import shutil
import subprocess
import sys

import httpx
import pytest

from mlx_serve.adapters.mlx.runtime.cpu_kernels import missing_compiler_warning
from tests.support.server import isolated_env, start_mlx_serve

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="BLAS loading is Linux-only")


def lines_at(log: str, level: str, needle: str) -> list[str]:
    return [ln for ln in log.splitlines() if f"| {level}" in ln and needle in ln]


def debian_openblas() -> bool:
    listed = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    return "libopenblas.so.0" in listed


def serve_and_read(root, extra: dict[str, str]) -> tuple[str, dict]:
    """Start a server with ``extra`` in its environment; its log and /health, then stop."""
    server = start_mlx_serve(root, env=isolated_env(root, extra))
    try:
        health = httpx.get(f"{server.base_url}/health", timeout=10).json()
    finally:
        assert server.stop() == 0
    return server.log_tail(100_000), health


def test_a_named_blas_that_fails_says_why_and_the_found_one_is_named(tmp_path):
    if shutil.which("apt-get") and not debian_openblas():
        pytest.fail("libopenblas0-pthread is missing: tools/test.sh installs it")
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    log, health = serve_and_read(tmp_path, {
        "MLX_SERVE_BLAS_LIBRARY": "/nowhere/libopenblas.so.0",
        "PATH": str(empty_path),  # no g++ for MLX's kernel compiler
    })
    (failed,) = lines_at(log, "WARNING", "/nowhere/libopenblas.so.0")
    assert "(MLX_SERVE_BLAS_LIBRARY) cannot be loaded: " in failed
    assert "No such file or directory" in failed and "searching for another" in failed

    (named,) = lines_at(log, "INFO", "BLAS: ")
    blas = named.split("BLAS: ", 1)[1]
    assert health["blas"] == blas
    if debian_openblas():  # the README's advice: `apt-get install libopenblas0-pthread`
        assert blas.endswith("libopenblas.so.0")

    (compiler,) = lines_at(log, "WARNING", "no C++ compiler")
    assert "`g++`" in compiler and "apt-get install g++" in compiler and "1.5x slower" in compiler


def test_blas_none_is_named_and_a_compiler_on_path_warns_of_nothing(tmp_path):
    if shutil.which("g++") is None:
        pytest.fail("g++ is missing: tools/test.sh installs it (MLX's CPU kernel compiler)")
    log, health = serve_and_read(tmp_path, {"MLX_SERVE_BLAS_LIBRARY": "none"})
    expected = "reference BLAS (optimised BLAS disabled by MLX_SERVE_BLAS_LIBRARY=none)"
    (named,) = lines_at(log, "INFO", "BLAS: ")
    assert named.endswith(f"BLAS: {expected}") and health["blas"] == expected
    assert not lines_at(log, "WARNING", "compiler")


def test_compiler_check_applies_to_linux_cpu_only(tmp_path):
    assert missing_compiler_warning("gpu", path=str(tmp_path)) is None
    assert missing_compiler_warning("cpu", path=str(tmp_path)) is not None
    if shutil.which("g++"):
        assert missing_compiler_warning("cpu") is None


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)


def test_only_the_reference_blas_warns_with_the_real_setting_names():
    result = _python(
        "from mlx_serve.adapters.mlx.runtime import blas\n"
        "blas._candidates = lambda: []  # a machine with no optimised BLAS\n"
        "print(blas.activate_blas(None))"
    )
    assert result.stdout.strip() == "reference BLAS"
    (warning,) = [ln for ln in result.stderr.splitlines() if "| WARNING" in ln]
    assert "MLX_SERVE_BLAS_LIBRARY" in warning and "`blas_library`" in warning
    assert "apt-get install libopenblas0-pthread" in warning and "pip install mkl" in warning
    assert "--blas-library" not in warning


def test_pip_installed_mkl_is_a_candidate(tmp_path):
    """`pip install mkl` puts libmkl_rt.so.<n> into <environment>/lib: it is searched there."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libmkl_rt.so.3").write_bytes(b"")
    result = _python(
        f"import sys; sys.prefix = {str(tmp_path)!r}\n"
        "from mlx_serve.adapters.mlx.runtime import blas; print(blas._candidates())"
    )
    assert str(tmp_path / "lib" / "libmkl_rt.so.3") in result.stdout
