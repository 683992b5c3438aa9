"""Token checks stay exact with the verified-token cache: expiry is checked on every use, a
changed signature or audience is refused. No database."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from uuid import uuid4

import pytest

from app.core import security
from app.domain.errors import Unauthenticated

SECRET = "token-test-secret-with-enough-entropy-0123456789"
KW = {"secret": SECRET, "audience": "hazchain", "issuer": "hazchain"}


def _token(ttl: timedelta) -> str:
    return security.create_token(
        subject=uuid4(), token_type="device", now=datetime.now(UTC), ttl=ttl, **KW
    )


def test_a_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token(timedelta(minutes=1))
    assert security.decode_token(token, token_type="device", **KW)["typ"] == "device"
    assert security.decode_token(token, token_type="device", **KW)  # from the cache
    later = time.time() + 120
    monkeypatch.setattr(security, "time", SimpleNamespace(time=lambda: later))
    with pytest.raises(Unauthenticated, match="expired"):
        security.decode_token(token, token_type="device", **KW)


def test_a_cached_token_is_checked_against_its_type_secret_and_audience() -> None:
    token = _token(timedelta(minutes=1))
    security.decode_token(token, token_type="device", **KW)
    with pytest.raises(Unauthenticated, match="user token is required"):
        security.decode_token(token, token_type="user", **KW)
    with pytest.raises(Unauthenticated, match="invalid"):
        security.decode_token(token, token_type="device", **{**KW, "secret": SECRET + "x"})
    with pytest.raises(Unauthenticated, match="not meant"):
        security.decode_token(token, token_type="device", **{**KW, "audience": "other"})
    with pytest.raises(Unauthenticated, match="invalid"):
        security.decode_token(token[:-2] + "xx", token_type="device", **KW)
