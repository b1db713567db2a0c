"""Field encryption and blind indexes for the tipster's identity.

Phone numbers, names, stored messages and raw provider bodies are encrypted with
AES-256-GCM (a random 96-bit nonce per value) under a key derived from HOTLINE_SECRET_KEY;
an encrypted value starts with `a1:`. Values written before that, with Fernet (AES-CBC +
HMAC, several times slower: intake encrypts two values per tip), are still read. Finding
"the same tipster" without decrypting uses a keyed HMAC of the handle (a blind index).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

AEAD_PREFIX = "a1:"  # AES-256-GCM: then the nonce and the ciphertext with its tag
_AEAD_PREFIX_BYTES = AEAD_PREFIX.encode()
_NONCE_BYTES = 12
_UNREADABLE = "field cannot be decrypted with this HOTLINE_SECRET_KEY"


def _derive(secret: bytes, purpose: bytes) -> bytes:
    """32 bytes for one purpose, derived from the master secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class Cipher:
    """Encrypts fields, signs tokens and computes blind indexes from one master secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("HOTLINE_SECRET_KEY must be at least 16 characters")
        master = secret.encode()
        self._aead = AESGCM(_derive(master, b"hotline111 fields aes-256-gcm"))
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"hotline111 fields")))
        self._index_key = _derive(master, b"hotline111 blind index")
        self.session_key = _derive(master, b"hotline111 sessions").hex()

    def encrypt(self, value: str | None) -> str | None:
        """Encrypt a text; None stays None."""
        if value is None:
            return None
        # "surrogatepass": a lone surrogate (JSON can carry one) comes back as it went in.
        sealed = self._seal(value.encode("utf-8", "surrogatepass"))
        return AEAD_PREFIX + base64.urlsafe_b64encode(sealed).decode()

    def decrypt(self, token: str | None) -> str | None:
        """Decrypt a text; None stays None, a token from another key raises ValueError."""
        if token is None:
            return None
        if token.startswith(AEAD_PREFIX):
            try:
                sealed = base64.urlsafe_b64decode(token[len(AEAD_PREFIX) :])
            except ValueError as exc:
                raise ValueError(_UNREADABLE) from exc
            plain = self._open(sealed)
        else:
            plain = self._legacy(token.encode())
        return plain.decode("utf-8", "surrogatepass")

    def encrypt_bytes(self, value: bytes) -> bytes:
        """Encrypt raw bytes (a provider's request body)."""
        return _AEAD_PREFIX_BYTES + self._seal(value)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """Decrypt raw bytes."""
        if token.startswith(_AEAD_PREFIX_BYTES):
            return self._open(token[len(_AEAD_PREFIX_BYTES) :])
        return self._legacy(token)

    def _seal(self, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, None)

    def _open(self, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise ValueError(_UNREADABLE) from exc

    def _legacy(self, token: bytes) -> bytes:
        """A value written with Fernet before AES-GCM."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise ValueError(_UNREADABLE) from exc

    def blind_index(self, value: str) -> str:
        """A keyed hash that finds equal values without revealing them."""
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()


def hash_token(token: str) -> str:
    """The stored form of an API token (only its hash is kept)."""
    return hashlib.sha256(token.encode()).hexdigest()


def demo_secret(var_dir: Path) -> str:
    """The demo mode's secret: generated once and kept under var/ so restarts can decrypt."""
    path = var_dir / "demo-secret.key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
