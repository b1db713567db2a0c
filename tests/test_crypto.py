"""Field encryption: AES-GCM values, Fernet values written before it, wrong keys, tampering."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from intake.store.crypto import (
    AEAD_PREFIX,
    TAGGED_PREFIX,
    Cipher,
    MissingKeyError,
    _derive,
    key_id_of,
    parse_key_list,
)

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


# ------------------------------------------------------------------- several keys by id

OLD, NEW = ("k1", "old-secret-key-for-hotline111"), ("k2", "new-secret-key-for-hotline111")


def test_new_values_carry_the_newest_key_id_and_old_ones_stay_readable() -> None:
    old_ring, ring = Cipher([OLD]), Cipher([OLD, NEW])
    written_before = old_ring.encrypt("Nguyễn Thị Hoa")
    body_before = old_ring.encrypt_bytes(b"raw body")
    assert key_id_of(written_before) == "k1" and key_id_of(body_before) == "k1"
    assert ring.current_id == "k2" and key_id_of(ring.encrypt("x")) == "k2"
    assert key_id_of(ring.encrypt_bytes(b"x")) == "k2"
    assert ring.decrypt(written_before) == "Nguyễn Thị Hoa"
    assert ring.decrypt_bytes(body_before) == b"raw body"


def test_values_written_before_key_ids_are_read_with_any_configured_key() -> None:
    untagged = "a1:" + base64.urlsafe_b64encode(_legacy_seal(OLD[1], b"0912345678")).decode()
    assert Cipher([OLD, NEW]).decrypt(untagged) == "0912345678"
    assert key_id_of(untagged) is None
    with pytest.raises(ValueError):
        Cipher([NEW]).decrypt(untagged)


def _legacy_seal(secret: str, plain: bytes) -> bytes:
    """A value as the single-key version wrote it: AES-GCM, no key id, no associated data."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = AESGCM(_derive(secret.encode(), b"hotline111 fields aes-256-gcm"))
    nonce = b"\x01" * 12
    return nonce + key.encrypt(nonce, plain, None)


def test_a_value_whose_key_is_gone_names_the_missing_key() -> None:
    token = Cipher([OLD]).encrypt("0912345678")
    with pytest.raises(MissingKeyError, match="'k1'"):
        Cipher([NEW]).decrypt(token)
    with pytest.raises(MissingKeyError):
        Cipher([NEW]).decrypt_bytes(Cipher([OLD]).encrypt_bytes(b"x"))


def test_a_key_id_cannot_be_moved_to_another_keys_value() -> None:
    # Two keys with the same secret under different ids: the id is authenticated too.
    ring = Cipher([("a", OLD[1]), ("b", NEW[1])])
    token = Cipher([("b", OLD[1])]).encrypt("x")
    assert token is not None
    with pytest.raises(ValueError):
        ring.decrypt(token.replace("a2:b:", "a2:a:", 1))


def test_blind_indexes_cover_every_key_newest_first() -> None:
    ring = Cipher([OLD, NEW])
    assert ring.blind_indexes("zalo:84001") == [
        Cipher([NEW]).blind_index("zalo:84001"),
        Cipher([OLD]).blind_index("zalo:84001"),
    ]


@pytest.mark.parametrize("text", ["", "k1", "k1:", ":secret-long-enough-0123", "k 1:x"])
def test_key_lists_that_cannot_be_read_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Cipher(parse_key_list(text))


def test_a_key_list_reads_oldest_first_newest_last() -> None:
    pairs = parse_key_list(" k1:old-secret-key-for-hotline111 , k2:new:secret-with-colon-0 ")
    assert pairs == [("k1", "old-secret-key-for-hotline111"), ("k2", "new:secret-with-colon-0")]
    assert Cipher(pairs).current_id == "k2"
    with pytest.raises(ValueError, match="share one id"):
        Cipher([OLD, ("k1", NEW[1])])
