"""Column types that encrypt a tipster's words at rest with the database's key ring.

The ring is bound to each engine's dialect (`bind_cipher`), so every statement on that
database, ORM or Core, encrypts what it writes and decrypts what it reads, and code that
handles incidents never sees a ciphertext. Two databases in one process (tests, a
restore) each keep their own keys.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Engine, Text, TypeDecorator
from sqlalchemy.engine import Dialect

from intake.store.crypto import Cipher

CIPHER_ATTRIBUTE = "hotline_cipher"
# The keys of JSON values (timeline details, triage reasons, place candidates) whose
# strings may be the tipster's or an operator's words: notes, reasons, matched text.
SEALED_JSON_KEYS = frozenset({"text", "reason", "matched", "note"})


def bind_cipher(engine: Engine, cipher: Cipher) -> None:
    """Let the sealed columns of this engine's statements use `cipher`."""
    setattr(engine.dialect, CIPHER_ATTRIBUTE, cipher)


def cipher_of(dialect: Dialect) -> Cipher:
    """The key ring bound to a dialect; refuses to read or write without one."""
    cipher = getattr(dialect, CIPHER_ATTRIBUTE, None)
    if cipher is None:
        raise RuntimeError("no key ring is bound to this database (Database(..., cipher=))")
    return cipher  # type: ignore[no-any-return]


class SealedText(TypeDecorator[str]):
    """Text encrypted with the newest key; text stored in clear before is read as is."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return cipher_of(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return cipher_of(dialect).open_text(value)


class SealedJSON(TypeDecorator[Any]):
    """JSON whose free-text strings (under SEALED_JSON_KEYS) are encrypted, the rest
    (levels, codes, rule names) left readable."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return seal_json(value, cipher_of(dialect).encrypt)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return seal_json(value, cipher_of(dialect).open_text)


def seal_json(value: Any, change: Any) -> Any:
    """A copy of a JSON value with `change` applied to the strings under sealed keys."""
    if isinstance(value, dict):
        return {
            key: change(item)
            if key in SEALED_JSON_KEYS and isinstance(item, str)
            else seal_json(item, change)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [seal_json(item, change) for item in value]
    return value
