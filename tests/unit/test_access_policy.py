"""AccessPolicy: which key opens which role."""

from __future__ import annotations

import pytest

from mlx_serve.application.access import AccessPolicy, Role, Verdict

INF, A = Role.INFERENCE, Role.ADMIN


def test_without_keys_everything_is_open():
    policy = AccessPolicy()
    assert not policy.enabled
    assert policy.check(INF, None) is Verdict.ALLOWED
    assert policy.check(A, "anything") is Verdict.ALLOWED


def test_inference_keys_alone_also_cover_model_management():
    policy = AccessPolicy(["k1", "k2"])
    assert policy.check(INF, "k1") is Verdict.ALLOWED
    assert policy.check(INF, "k2") is Verdict.ALLOWED
    assert policy.check(A, "k2") is Verdict.ALLOWED
    assert policy.check(INF, None) is Verdict.MISSING
    assert policy.check(INF, "") is Verdict.MISSING
    assert policy.check(A, "k3") is Verdict.INVALID


@pytest.mark.parametrize(
    ("role", "key", "verdict"),
    [
        (INF, "inf", Verdict.ALLOWED),
        (INF, "adm", Verdict.ALLOWED),  # an admin key may do everything
        (A, "adm", Verdict.ALLOWED),
        (A, "inf", Verdict.FORBIDDEN),
        (A, "other", Verdict.INVALID),
        (A, None, Verdict.MISSING),
        (INF, "inf ", Verdict.INVALID),  # exact bytes, no trimming inside the policy
        (INF, "INF", Verdict.INVALID),
    ],
)
def test_separate_admin_keys(role, key, verdict):
    assert AccessPolicy(["inf"], ["adm"]).check(role, key) is verdict


def test_admin_keys_alone_protect_only_model_management():
    policy = AccessPolicy(admin_keys=["adm"])
    assert policy.enabled and not policy.required(INF)
    assert policy.check(INF, None) is Verdict.ALLOWED
    assert policy.check(A, None) is Verdict.MISSING
    assert policy.check(A, "adm") is Verdict.ALLOWED


def test_non_ascii_keys_compare_without_errors():
    policy = AccessPolicy(["clé-été"])
    assert policy.check(INF, "clé-été") is Verdict.ALLOWED
    assert policy.check(INF, "cle-ete") is Verdict.INVALID
    assert policy.check(INF, "\udcff") is Verdict.INVALID  # a lone surrogate from a bad header
