"""AccessPolicy: which key opens which role."""

from __future__ import annotations

import pytest

from mlx_serve.application.access import AccessPolicy, Role, Verdict

I, A = Role.INFERENCE, Role.ADMIN


def test_without_keys_everything_is_open():
    policy = AccessPolicy()
    assert not policy.enabled
    assert policy.check(I, None) is Verdict.ALLOWED
    assert policy.check(A, "anything") is Verdict.ALLOWED


def test_inference_keys_alone_also_cover_model_management():
    policy = AccessPolicy(["k1", "k2"])
    assert policy.check(I, "k1") is Verdict.ALLOWED
    assert policy.check(I, "k2") is Verdict.ALLOWED
    assert policy.check(A, "k2") is Verdict.ALLOWED
    assert policy.check(I, None) is Verdict.MISSING
    assert policy.check(I, "") is Verdict.MISSING
    assert policy.check(A, "k3") is Verdict.INVALID


@pytest.mark.parametrize(
    ("role", "key", "verdict"),
    [
        (I, "inf", Verdict.ALLOWED),
        (I, "adm", Verdict.ALLOWED),  # an admin key may do everything
        (A, "adm", Verdict.ALLOWED),
        (A, "inf", Verdict.FORBIDDEN),
        (A, "other", Verdict.INVALID),
        (A, None, Verdict.MISSING),
        (I, "inf ", Verdict.INVALID),  # exact bytes, no trimming inside the policy
        (I, "INF", Verdict.INVALID),
    ],
)
def test_separate_admin_keys(role, key, verdict):
    assert AccessPolicy(["inf"], ["adm"]).check(role, key) is verdict


def test_admin_keys_alone_protect_only_model_management():
    policy = AccessPolicy(admin_keys=["adm"])
    assert policy.enabled and not policy.required(I)
    assert policy.check(I, None) is Verdict.ALLOWED
    assert policy.check(A, None) is Verdict.MISSING
    assert policy.check(A, "adm") is Verdict.ALLOWED


def test_non_ascii_keys_compare_without_errors():
    policy = AccessPolicy(["clé-été"])
    assert policy.check(I, "clé-été") is Verdict.ALLOWED
    assert policy.check(I, "cle-ete") is Verdict.INVALID
    assert policy.check(I, "\udcff") is Verdict.INVALID  # a lone surrogate from a bad header
