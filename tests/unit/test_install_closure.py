"""The installed runtime closure of ``mlx-serve[cpu]`` is lean and copyleft-free.

Walks the installed metadata from mlx-serve through its requirements (the ``cpu`` extra, not
``dev``), so it checks what ``pip install "mlx-serve[cpu]"`` pulls in.
"""

from __future__ import annotations

import pytest

from tools.install_closure import FORBIDDEN, is_copyleft, licence_text, runtime_closure


@pytest.fixture(scope="module")
def closure() -> dict[str, str]:
    return runtime_closure("mlx-serve", ["cpu"])


def test_the_closure_is_walked_through_requirements_and_the_cpu_extra(closure):
    assert {"mlx-serve", "mlx", "mlx-cpu", "tokenizers", "sanic", "numpy"} <= set(closure)
    # The Linux CPU install runs BERT-family encoders on ONNX Runtime (decision 0022).
    assert {"onnxruntime", "onnx"} <= set(closure)
    assert "pytest" not in closure  # the dev extra is not part of an install


def test_no_forbidden_package_is_pulled_in(closure):
    assert sorted(FORBIDDEN & set(closure)) == []


def test_no_package_is_gpl_or_agpl(closure):
    copyleft = {name: licence_text(name) for name in closure.values()
                if is_copyleft(licence_text(name))}
    assert copyleft == {}


@pytest.mark.parametrize("licence", [
    "GNU General Public License v3 | License :: OSI Approved :: GNU General Public License v3 "
    "(GPLv3)",  # mlx-embeddings 0.1.0's metadata
    "GPL-3.0-or-later",
    "AGPL-3.0-only",
    "License :: OSI Approved :: GNU Affero General Public License v3",
    "GPLv2",
])
def test_gpl_and_agpl_texts_count_as_copyleft(licence):
    assert is_copyleft(licence)


@pytest.mark.parametrize("licence", [
    "MIT", "Apache-2.0", "BSD-3-Clause", "MPL-2.0 AND MIT", "LGPL-2.1-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
    "Apache-2.0 OR BSD-2-Clause",
])
def test_permissive_and_lgpl_texts_do_not(licence):
    assert not is_copyleft(licence)
