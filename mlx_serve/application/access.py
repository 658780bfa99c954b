"""Who may call what: API keys and the two roles they grant.

The HTTP adapter says which role a route needs and hands over the key the client presented;
this policy answers. Inference keys grant ``INFERENCE``; admin keys grant both roles. Without
admin keys, model management is covered by the inference keys (one key protects everything);
without any key, everything is open (a local, single-user server). Keys are compared with
``hmac.compare_digest`` against every configured key, so timing reveals neither a key nor
which one matched.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Iterable


class Role(enum.Enum):
    """What a route does: read/compute with models, or change what is installed."""

    INFERENCE = "inference"
    ADMIN = "admin"


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    MISSING = "missing"  # a key is needed and none was sent -> 401
    INVALID = "invalid"  # the key matches nothing -> 401
    FORBIDDEN = "forbidden"  # a valid key without the role (an inference key on admin) -> 403


class AccessPolicy:
    """API-key checks for the two roles; immutable after construction."""

    def __init__(self, inference_keys: Iterable[str] = (), admin_keys: Iterable[str] = ()):
        self._inference = tuple(_encoded(k) for k in inference_keys if k)
        self._admin = tuple(_encoded(k) for k in admin_keys if k)

    @property
    def enabled(self) -> bool:
        """True when any key is configured."""
        return bool(self._inference or self._admin)

    def required(self, role: Role) -> bool:
        """Whether a call in ``role`` needs a key at all."""
        if role is Role.ADMIN:
            return self.enabled
        return bool(self._inference)

    def check(self, role: Role, presented: str | None) -> Verdict:
        """The verdict for a call in ``role`` carrying ``presented`` (None: no key sent)."""
        if not self.required(role):
            return Verdict.ALLOWED
        if not presented:
            return Verdict.MISSING
        key = _encoded(presented)
        is_admin = _matches(key, self._admin)
        is_inference = _matches(key, self._inference)
        if role is Role.ADMIN:
            if is_admin or (is_inference and not self._admin):
                return Verdict.ALLOWED
            return Verdict.FORBIDDEN if is_inference else Verdict.INVALID
        return Verdict.ALLOWED if is_inference or is_admin else Verdict.INVALID


def _encoded(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


def _matches(key: bytes, keys: tuple[bytes, ...]) -> bool:
    """Constant time in the key's content: every configured key is compared, no early exit."""
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key, candidate)
    return found
