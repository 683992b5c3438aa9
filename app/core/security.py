"""Password hashing (argon2) and JWT access tokens (pyjwt).

Tokens carry a type: `user` (people, web and API) or `device` (enrolled handhelds). A route
declares which type it accepts; a device token is refused on a user-only route.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid4

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain.errors import Unauthenticated

_hasher = PasswordHasher()
# Verifying against this keeps the time of "unknown user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("hazchain-timing-equaliser")

ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    try:
        return _hasher.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def create_token(
    *,
    secret: str,
    subject: UUID,
    token_type: str,
    audience: str,
    issuer: str,
    now: datetime,
    ttl: timedelta,
    extra: dict[str, Any] | None = None,
) -> str:
    claims: dict[str, Any] = {
        "sub": str(subject),
        "typ": token_type,
        "aud": audience,
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid4().hex,
    }
    claims.update(extra or {})
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str, audience: str, issuer: str) -> dict[str, Any]:
    """The claims of a token whose signature, audience and issuer check out. Cached: a
    handheld sends the same token with every scan, and the check is pure; the expiry, which
    is not, is checked again on every use (errors are not cached)."""
    claims: dict[str, Any] = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "sub", "aud", "iss"]},
    )
    return claims


def decode_token(
    token: str, *, secret: str, audience: str, issuer: str, token_type: str
) -> dict[str, Any]:
    try:
        claims = dict(_verified(token, secret, audience, issuer))
        if claims["exp"] <= time.time():  # as PyJWT's own check, for a cached token
            raise jwt.ExpiredSignatureError("Signature has expired")
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the access token has expired: sign in again") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated("the access token is not meant for this service") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("the access token is invalid") from exc
    if claims.get("typ") != token_type:
        raise Unauthenticated(
            f"a {token_type} token is required here, not a {claims.get('typ')} token"
        )
    return claims
