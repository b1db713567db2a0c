"""Logs and failed jobs keep no personal data, database errors included.

SQLAlchemy puts a failed statement's parameters in its errors (the engines are made with
`hide_parameters=True` for that), and PostgreSQL quotes row values in an error's DETAIL:
"Key (name)=(...) already exists", "Failing row contains (...)". A row can hold a
tipster's words or an address, so those lines are withheld wherever an error is written
down: in the log (`PrivateFormatter`) and on a failed job (`without_values`).
"""

from __future__ import annotations

import logging

WITHHELD = "DETAIL: (withheld: it may quote personal data)"


def without_values(text: str) -> str:
    """The text of an error without the lines in which the database quotes values."""
    if "DETAIL:" not in text:
        return text
    return "\n".join(
        WITHHELD if line.lstrip().startswith("DETAIL:") else line for line in text.split("\n")
    )


class PrivateFormatter(logging.Formatter):
    """A log formatter whose tracebacks leave out what `without_values` leaves out."""

    def formatException(self, ei):  # type: ignore[no-untyped-def]  # logging's signature
        return without_values(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        return without_values(super().format(record))
