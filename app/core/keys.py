"""Per-site Ed25519 signing keys, derived from one configured seed (HKDF-SHA256).

A regulator verifies a site's signed checkpoints and sealed log exports with that site's
public key alone. The same seed also keys the short MACs of links printed on paper (the
manifest's roadside-check QR code), one derived key per purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class KeyRing:
    def __init__(self, seed: bytes) -> None:
        self._seed = seed

    @lru_cache(maxsize=256)  # noqa: B019 - one KeyRing per app; keys are tiny
    def private_key(self, site_id: UUID) -> Ed25519PrivateKey:
        raw = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"hazchain-site-key-v1",
            info=site_id.bytes,
        ).derive(self._seed)
        return Ed25519PrivateKey.from_private_bytes(raw)

    @lru_cache(maxsize=8)  # noqa: B019 - one KeyRing per app; one key per purpose
    def _mac_key(self, purpose: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"hazchain-mac-v1",
            info=purpose.encode(),
        ).derive(self._seed)

    def mac(self, purpose: str, message: bytes) -> bytes:
        """HMAC-SHA256 of `message` under the key derived for `purpose`."""
        return hmac.new(self._mac_key(purpose), message, hashlib.sha256).digest()

    def public_key(self, site_id: UUID) -> Ed25519PublicKey:
        return self.private_key(site_id).public_key()

    def key_id(self, site_id: UUID) -> str:
        return key_id(self.public_key(site_id))

    def public_pem(self, site_id: UUID) -> str:
        return public_pem(self.public_key(site_id))

    def sign(self, site_id: UUID, claims: dict[str, Any]) -> str:
        """A compact JWS (EdDSA) of `claims` with the site's key, its key id in the header."""
        return jwt.encode(
            claims,
            self.private_key(site_id),
            algorithm="EdDSA",
            headers={"kid": self.key_id(site_id)},
        )


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    x = base64.urlsafe_b64encode(public_raw(key)).rstrip(b"=").decode()
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": key_id(key),
        "alg": "EdDSA",
        "use": "sig",
    }
