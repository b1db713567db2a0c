"""The search index: keyed hashes of an incident's folded words, never the words.

Message text is encrypted at rest, so search cannot read it with SQL. When the pipeline
reads an incident's text (and whenever an operator changes it), each distinct word,
lower-cased and without diacritics ("Thiệu" -> "thieu"), is stored as a keyed HMAC
(`Cipher.blind_index`), with the place's name (and its names before the 2025 merger of
communes, districts and provinces) and the tipster's phone number. A query is
folded and hashed the same way; an incident matches when it holds every term.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import cast

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Integer,
    Select,
    String,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from intake.store.crypto import Cipher
from intake.store.models import Base, Incident
from triage.text import fold

WORD = re.compile(r"[0-9a-z]+")
CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
MAX_TERMS = 2000  # a very long conversation keeps its first 2,000 distinct words


class SearchTerm(Base):
    """One folded word (as a keyed hash) that an incident's text or place holds."""

    __tablename__ = "search_terms"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("incidents.id"), primary_key=True, index=True
    )


TERMS = cast(Table, SearchTerm.__table__)


def words(text: str) -> list[str]:
    """The distinct folded words of a text, in order."""
    return list(dict.fromkeys(WORD.findall(fold(text))))


def phone_digits(text: str) -> str | None:
    """A phone number as national digits ("+84 912..." -> "0912..."), or None."""
    digits = re.sub(r"\D", "", text)
    if text.strip().startswith("+84") or (digits.startswith("84") and len(digits) >= 11):
        digits = "0" + digits[2:]
    return digits if 8 <= len(digits) <= 12 else None


def word_term(cipher: Cipher, word: str) -> str:
    return cipher.blind_index(f"search:w:{word}")


def phone_term(cipher: Cipher, digits: str) -> str:
    return cipher.blind_index(f"search:tel:{digits}")


def index_incident(
    *,
    session: Session,
    cipher: Cipher,
    incident_id: int,
    texts: Iterable[str],
    phones: Iterable[str] = (),
) -> None:
    """Replace the incident's terms with those of its texts and phone numbers."""
    terms: dict[str, None] = {}
    for phone in phones:  # first: a long text's words must not push it past MAX_TERMS
        digits = phone_digits(phone)
        if digits:
            terms[phone_term(cipher, digits)] = None
    for text in texts:
        for word in words(text):
            terms[word_term(cipher, word)] = None
    # Core statements on the session's connection: this runs for every incident the
    # pipeline processes, and the ORM's bulk path costs several times the inserts.
    connection = session.connection()
    connection.execute(delete(TERMS).where(TERMS.c.incident_id == incident_id))
    rows = [{"term": t, "incident_id": incident_id} for t in list(terms)[:MAX_TERMS]]
    if rows:
        connection.execute(insert(TERMS), rows)


def matching(cipher: Cipher, query: str) -> Select[int] | None:
    """A select of the incident ids that hold every term of the query (None: no terms).

    A query that reads as a phone number also matches the number itself."""
    digits = phone_digits(query) if re.fullmatch(r"[\d\s+().-]{8,20}", query.strip()) else None
    if digits:
        return select(SearchTerm.incident_id).where(SearchTerm.term == phone_term(cipher, digits))
    terms = [word_term(cipher, w) for w in words(query)][:12]
    if not terms:
        return None
    return (
        select(SearchTerm.incident_id)
        .where(SearchTerm.term.in_(terms))
        .group_by(SearchTerm.incident_id)
        .having(func.count() == len(set(terms)))
    )


def search_condition(cipher: Cipher, query: str) -> ColumnElement[bool]:
    """Where an incident matches a search box: its reference, or every term of the query."""
    text = CONTROL.sub(" ", query).strip()[:200]  # PostgreSQL refuses NUL in a string
    reference = Incident.reference == text.upper()
    ids = matching(cipher, text)
    return reference if ids is None else or_(reference, Incident.id.in_(ids))
