"""Field encryption and blind indexes under a ring of keys, each known by its id.

Tipster identities, message text, summaries, notes, alert text and raw provider bodies are
encrypted with AES-256-GCM (a random 96-bit nonce per value) under a key derived from one
of the configured secrets. A value is written with the newest key and tagged with its id,
`a2:<key id>:` (the id is also authenticated data, so a tag cannot be moved to another
key's value); older values stay readable while their key is configured, and `hotline111
keys rotate` rewrites them with the newest. Untagged values, written before key ids
(`a1:`, or Fernet before that: AES-CBC + HMAC, several times slower), are read with
whichever configured key opens them. Finding "the same tipster" without decrypting uses a
keyed HMAC of the handle (a blind index), recomputed by the rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

AEAD_PREFIX = "a1:"  # untagged AES-256-GCM (before key ids): the nonce, then ciphertext
TAGGED_PREFIX = "a2:"  # AES-256-GCM under a named key: "a2:<id>:" then nonce + ciphertext
_AEAD_PREFIX_BYTES = AEAD_PREFIX.encode()
_TAGGED_PREFIX_BYTES = TAGGED_PREFIX.encode()
_NONCE_BYTES = 12
_UNREADABLE = "field cannot be decrypted with the configured HOTLINE_SECRET_KEY(S)"
KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
SINGLE_KEY_ID = "1"  # the id of HOTLINE_SECRET_KEY when it is the only key
MIN_SECRET_CHARS = 16


class MissingKeyError(ValueError):
    """A value was written with a key the ring does not hold."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"a stored value needs key {key_id!r}, which is not configured "
            "(add it to HOTLINE_SECRET_KEYS)"
        )
        self.key_id = key_id


def _derive(secret: bytes, purpose: bytes) -> bytes:
    """32 bytes for one purpose, derived from the master secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class _Key:
    """What one secret yields: the field key, the legacy Fernet key, the index key."""

    def __init__(self, key_id: str, secret: str) -> None:
        if not KEY_ID.fullmatch(key_id):
            raise ValueError(f"key id {key_id!r}: use 1-32 letters, digits, '_', '.', '-'")
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the secret of key {key_id!r} must be at least 16 characters")
        master = secret.encode()
        self.id = key_id
        self.aead = AESGCM(_derive(master, b"hotline111 fields aes-256-gcm"))
        self.fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"hotline111 fields")))
        self.index_key = _derive(master, b"hotline111 blind index")
        self.session_key = _derive(master, b"hotline111 sessions").hex()
        check = _derive(master, b"hotline111 key check")
        self.check_value = hmac.new(check, b"hotline111 key check v1", "sha256").hexdigest()


class Cipher:
    """Encrypts fields, signs tokens and computes blind indexes with a ring of keys; the
    last key given is the newest, the one every new value is written with."""

    def __init__(self, secret: str | Sequence[tuple[str, str]]) -> None:
        pairs = [(SINGLE_KEY_ID, secret)] if isinstance(secret, str) else list(secret)
        if not pairs:
            raise ValueError("no secret key given")
        self._keys = {key_id: _Key(key_id, value) for key_id, value in pairs}
        if len(self._keys) != len(pairs):
            raise ValueError("two keys share one id")
        self.current = self._keys[pairs[-1][0]]
        self._tagged_text = f"{TAGGED_PREFIX}{self.current.id}:"
        self._tagged_bytes = self._tagged_text.encode()
        self._aad = self.current.id.encode()
        # Untagged values: the newest key first (most likely, for a one-key ring).
        self._untagged_order = [
            self.current,
            *(k for k in self._keys.values() if k is not self.current),
        ]
        self.session_key = self.current.session_key

    @property
    def key_ids(self) -> list[str]:
        """The ids of the configured keys, oldest first."""
        return list(self._keys)

    @property
    def current_id(self) -> str:
        """The id of the key new values are written with."""
        return self.current.id

    def check_values(self) -> dict[str, str]:
        """Each key's check value: stored in the database, proves the key at start-up."""
        return {key.id: key.check_value for key in self._keys.values()}

    def encrypt(self, value: str | None) -> str | None:
        """Encrypt a text with the newest key; None stays None."""
        if value is None:
            return None
        # "surrogatepass": a lone surrogate (JSON can carry one) comes back as it went in.
        sealed = self._seal(value.encode("utf-8", "surrogatepass"))
        return self._tagged_text + base64.urlsafe_b64encode(sealed).decode()

    def decrypt(self, token: str | None) -> str | None:
        """Decrypt a text; None stays None, a token no configured key opens raises
        ValueError (MissingKeyError when its key's id is not configured)."""
        if token is None:
            return None
        if token.startswith(TAGGED_PREFIX):
            key, body = self._tagged_key(token[len(TAGGED_PREFIX) :])
            plain = self._open(key, _b64(body))
        elif token.startswith(AEAD_PREFIX):
            plain = self._open_untagged(_b64(token[len(AEAD_PREFIX) :]))
        else:
            plain = self._legacy(token.encode())
        return plain.decode("utf-8", "surrogatepass")

    def open_text(self, stored: str | None) -> str | None:
        """A text column's value: decrypted when encrypted, else as stored (text written
        in clear before encryption at rest; `keys rotate` encrypts it)."""
        if stored is None or not stored.startswith(TAGGED_PREFIX):
            return stored
        return self.decrypt(stored)

    def encrypt_bytes(self, value: bytes) -> bytes:
        """Encrypt raw bytes (a provider's request body) with the newest key."""
        return self._tagged_bytes + self._seal(value)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """Decrypt raw bytes."""
        if token.startswith(_TAGGED_PREFIX_BYTES):
            rest = token[len(_TAGGED_PREFIX_BYTES) :]
            key_id, colon, sealed = rest.partition(b":")
            if not colon:
                raise ValueError(_UNREADABLE)
            key = self._key(key_id.decode("ascii", "replace"))
            return self._open(key, sealed)
        if token.startswith(_AEAD_PREFIX_BYTES):
            return self._open_untagged(token[len(_AEAD_PREFIX_BYTES) :])
        return self._legacy(token)

    def blind_index(self, value: str) -> str:
        """A keyed hash that finds equal values without revealing them (newest key)."""
        return self._index(self.current, value)

    def blind_indexes(self, value: str) -> list[str]:
        """The value's blind index under every configured key, the newest first: a
        lookup during a rotation finds rows not yet re-indexed."""
        return [self._index(key, value) for key in self._untagged_order]

    def _index(self, key: _Key, value: str) -> str:
        return hmac.new(key.index_key, value.encode(), hashlib.sha256).hexdigest()

    def _tagged_key(self, rest: str) -> tuple[_Key, str]:
        key_id, colon, body = rest.partition(":")
        if not colon:
            raise ValueError(_UNREADABLE)
        return self._key(key_id), body

    def _key(self, key_id: str) -> _Key:
        key = self._keys.get(key_id)
        if key is None:
            raise MissingKeyError(key_id)
        return key

    def _seal(self, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self.current.aead.encrypt(nonce, plain, self._aad)

    def _open(self, key: _Key, sealed: bytes) -> bytes:
        try:
            return key.aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], key.id.encode())
        except InvalidTag as exc:
            raise ValueError(_UNREADABLE) from exc

    def _open_untagged(self, sealed: bytes) -> bytes:
        for key in self._untagged_order:
            try:
                return key.aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], None)
            except InvalidTag:
                continue
        raise ValueError(_UNREADABLE)

    def _legacy(self, token: bytes) -> bytes:
        """A value written with Fernet before AES-GCM."""
        for key in self._untagged_order:
            try:
                return key.fernet.decrypt(token)
            except InvalidToken:
                continue
        raise ValueError(_UNREADABLE)


def key_id_of(stored: str | bytes | None) -> str | None:
    """The id of the key a stored value was written with; None when untagged or clear."""
    if stored is None:
        return None
    if isinstance(stored, bytes):
        if not stored.startswith(_TAGGED_PREFIX_BYTES):
            return None
        raw_id, raw_colon, _ = stored[len(_TAGGED_PREFIX_BYTES) :].partition(b":")
        return raw_id.decode("ascii", "replace") if raw_colon else None
    if not stored.startswith(TAGGED_PREFIX):
        return None
    key_id, colon, _ = stored[len(TAGGED_PREFIX) :].partition(":")
    return key_id if colon else None


def _b64(body: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(body)
    except ValueError as exc:
        raise ValueError(_UNREADABLE) from exc


def parse_key_list(text: str) -> list[tuple[str, str]]:
    """`id1:secret1,id2:secret2` (oldest first, the last one the newest) as pairs."""
    pairs = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key_id, colon, secret = part.partition(":")
        if not colon or not key_id.strip() or not secret:
            raise ValueError("HOTLINE_SECRET_KEYS is id:secret[,id:secret...], newest last")
        pairs.append((key_id.strip(), secret))
    if not pairs:
        raise ValueError("HOTLINE_SECRET_KEYS names no key")
    return pairs


def hash_token(token: str) -> str:
    """The stored form of an API token (only its hash is kept)."""
    return hashlib.sha256(token.encode()).hexdigest()


def demo_secret(var_dir: Path) -> str:
    """The demo mode's secret: generated once and kept under var/ so restarts can decrypt."""
    path = var_dir / "demo-secret.key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    var_dir.chmod(0o700)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
