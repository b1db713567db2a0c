"""Logs and failed jobs keep no personal data, database and provider errors included.

SQLAlchemy puts a failed statement's parameters in its errors (the engines are made with
`hide_parameters=True` for that), and PostgreSQL quotes row values in an error's DETAIL:
"Key (name)=(...) already exists", "Failing row contains (...)". A provider's error can
quote the number or chat it could not reach ("The 'To' number +84... is not valid"). A row
can hold a tipster's words or an address, a number is a tipster's or a responder's: so
wherever an error is written down, in the log (`PrivateFormatter`) and on a failed job or
alert (`without_values`), those lines are withheld and long runs of digits (phone numbers,
chat ids) masked.
"""

from __future__ import annotations

import logging
import re

WITHHELD = "DETAIL: (withheld: it may quote personal data)"
MASKED = "(number withheld)"
# Nine or more digits in a row, perhaps after a +, not inside a word or an id: a phone
# number (0912345678, +84912345678) or a chat id. Dates, times, references (111-2612-0001),
# incident and job ids have fewer digits between separators.
_LONG_NUMBER = re.compile(r"(?<![\w+])\+?\d{9,}(?!\w)")


def without_values(text: str) -> str:
    """The text of an error without the lines in which the database quotes values, and
    with long numbers masked."""
    if "DETAIL:" in text:
        text = "\n".join(
            WITHHELD if line.lstrip().startswith("DETAIL:") else line for line in text.split("\n")
        )
    return _LONG_NUMBER.sub(MASKED, text)


class PrivateFormatter(logging.Formatter):
    """A log formatter whose lines and tracebacks leave out what `without_values` does."""

    def format(self, record: logging.LogRecord) -> str:
        return without_values(super().format(record))
