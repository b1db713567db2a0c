"""Field encryption: AES-GCM values, Fernet values written before it, wrong keys, tampering."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from intake.store.crypto import AEAD_PREFIX, TAGGED_PREFIX, Cipher, _derive

SECRET = "test-secret-key-for-hotline111"
CIPHER = Cipher(SECRET)


@pytest.mark.parametrize(
    "text", ["0912345678", "Nguyễn Thị Hoa", "", "lone \ud800 surrogate", "x" * 100_000]
)
def test_text_round_trip(text: str) -> None:
    token = CIPHER.encrypt(text)
    assert token is not None and token.startswith(TAGGED_PREFIX + "1:")
    plain = text.encode("utf-8", "surrogatepass")
    assert not plain or plain not in token.encode("utf-8", "surrogatepass")
    assert CIPHER.decrypt(token) == text


def test_none_stays_none() -> None:
    assert CIPHER.encrypt(None) is None
    assert CIPHER.decrypt(None) is None


def test_bytes_round_trip_and_each_value_has_its_own_nonce() -> None:
    body = b'\xff{"phone": "0912345678"}'
    first, second = CIPHER.encrypt_bytes(body), CIPHER.encrypt_bytes(body)
    assert first != second
    assert b"0912345678" not in first
    assert CIPHER.decrypt_bytes(first) == CIPHER.decrypt_bytes(second) == body


def test_values_written_with_fernet_are_still_read() -> None:
    legacy = Fernet(base64.urlsafe_b64encode(_derive(SECRET.encode(), b"hotline111 fields")))
    assert CIPHER.decrypt(legacy.encrypt("Trần Văn An".encode()).decode()) == "Trần Văn An"
    assert CIPHER.decrypt_bytes(legacy.encrypt(b"raw body")) == b"raw body"


def test_another_key_cannot_read() -> None:
    other = Cipher("another-secret-key-for-hotline111")
    with pytest.raises(ValueError, match="HOTLINE_SECRET_KEY"):
        other.decrypt(CIPHER.encrypt("0912345678"))
    with pytest.raises(ValueError, match="HOTLINE_SECRET_KEY"):
        other.decrypt_bytes(CIPHER.encrypt_bytes(b"raw"))


def test_tampered_value_is_refused() -> None:
    sealed = bytearray(CIPHER.encrypt_bytes(b"raw body"))
    sealed[-1] ^= 1
    with pytest.raises(ValueError):
        CIPHER.decrypt_bytes(bytes(sealed))
    token = CIPHER.encrypt("0912345678")
    assert token is not None
    with pytest.raises(ValueError):
        CIPHER.decrypt(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    with pytest.raises(ValueError):
        CIPHER.decrypt(TAGGED_PREFIX + "1:not base64!")
    with pytest.raises(ValueError):
        CIPHER.decrypt(AEAD_PREFIX + "not base64!")
