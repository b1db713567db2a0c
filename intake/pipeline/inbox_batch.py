"""One group commit's requests, each distinct message once, stored in one statement."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import Connection, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from channels.base import InboundMessage
from intake.pipeline.inbox import (
    INBOX,
    Accepted,
    Submission,
    inbox_row,
    insert_inbox,
    queue_ingest,
    repeat_outcome,
)
from intake.pipeline.incidents import ANONYMOUS_CHANNELS, NOT_INCIDENTS
from intake.store.auth import TokenRefused, live_accounts
from intake.store.crypto import Cipher
from intake.store.db import driver_rows
from intake.store.models import utcnow
from intake.store.numbering import number_incidents

Key = tuple[str, str]  # (channel, provider message id)
Position = tuple[int, int]  # (submission, message within it)


def opens_new_incident(message: InboundMessage) -> bool:
    """True for a message that can only open an incident of its own: an anonymous partner
    or web-form tip has no tipster to find and no conversation to join."""
    return (
        message.kind not in NOT_INCIDENTS
        and message.channel in ANONYMOUS_CHANNELS
        and not (message.sender_phone or message.sender_name)
        and not message.conversation_key
        and not message.urgent
    )


@dataclass(frozen=True)
class Batch:
    """The requests of one batch, each distinct message once (at its first position),
    less the requests `refused` (by index) because their bearer token no longer holds."""

    submissions: list[Submission]
    first: dict[Key, Position]
    new_tips: list[Key]  # the keys of messages that can only open a new incident
    refused: dict[int, TokenRefused] = field(default_factory=dict)

    @classmethod
    def of(
        cls, submissions: list[Submission], refused: dict[int, TokenRefused] | None = None
    ) -> Batch:
        refused = refused or {}
        first: dict[Key, Position] = {}
        for s_index, submission in enumerate(submissions):
            if s_index in refused:
                continue
            for m_index, message in enumerate(submission.messages):
                first.setdefault(
                    (str(message.channel), message.provider_message_id), (s_index, m_index)
                )
        new_tips = [k for k, at in first.items() if opens_new_incident(cls._at(submissions, at))]
        return cls(submissions, first, new_tips, refused)

    def checked(self, connection: Connection) -> Batch:
        """The batch less the requests whose bearer token was revoked, or whose account was
        disabled or lost the role the request needs, since the token was cached.

        Called inside the transaction that stores the batch, so a revocation committed
        before it keeps the request out; one query for the batch's distinct tokens. This
        is what lets a partner's cached token skip its own check on every request
        (`auth.TokenCache`)."""
        senders = {i: s.sender for i, s in enumerate(self.submissions) if s.sender is not None}
        if not senders:
            return self
        live = live_accounts(connection, {sender.token_id for sender in senders.values()})
        refused = {}
        for index, sender in senders.items():
            refusal = sender.refusal(live.get(sender.token_id))
            if refusal is not None:
                refused[index] = refusal
        return Batch.of(self.submissions, refused) if refused else self

    @property
    def only_new_tips(self) -> bool:
        return len(self.new_tips) == len(self.first)

    def message(self, at: Position) -> InboundMessage:
        return self._at(self.submissions, at)

    def raw_body(self, at: Position) -> bytes | None:
        """The request body, kept with the request's first message."""
        return self.submissions[at[0]].raw_body if at[1] == 0 else None

    @property
    def size(self) -> int:
        """How many messages the requests not refused hold, repeats counted."""
        return sum(
            len(submission.messages)
            for index, submission in enumerate(self.submissions)
            if index not in self.refused
        )

    def answers(
        self, made: dict[Position, Accepted], session: Session | None
    ) -> list[list[Accepted] | Exception]:
        """Each request's outcomes: what was `made` here, and for every other message (a
        repeat) that of its first delivery, looked up through `session`."""
        outcomes: list[list[Accepted] | Exception] = []
        for s_index, submission in enumerate(self.submissions):
            if s_index in self.refused:
                outcomes.append(self.refused[s_index])
                continue
            results = []
            for m_index, message in enumerate(submission.messages):
                outcome = made.get((s_index, m_index))
                if outcome is None:
                    if session is None:
                        raise RuntimeError("a repeat to look up, and no session to do it")
                    outcome = repeat_outcome(session, message)
                results.append(outcome)
            outcomes.append(results)
        return outcomes

    @staticmethod
    def _at(submissions: list[Submission], at: Position) -> InboundMessage:
        return submissions[at[0]].messages[at[1]]


def store_batch(
    connection: Connection, cipher: Cipher, batch: Batch
) -> tuple[dict[Position, Accepted], dict[Position, int]]:
    """Store every distinct message of a batch in one insert (repeats skipped).

    A new tip takes an incident id and reference now (its answer carries them), and an
    `ingest` job turns it into that incident a moment later. Returns the answers made so
    far and, for every other message stored, its inbox id: the caller ingests those.
    """
    if not batch.first:
        return {}, {}  # every request refused
    candidates = batch.new_tips
    if candidates:
        # Numbers only for what is new: a repeat delivery takes none.
        seen = already_stored(connection, candidates)
        candidates = [key for key in candidates if key not in seen]
    deferred = [batch.first[key] for key in candidates]
    numbers = number_incidents(connection, at=[batch.message(at).received_at for at in deferred])
    reservations = dict(zip(deferred, numbers, strict=True))
    now = utcnow()
    rows = [
        inbox_row(cipher, batch.message(at), batch.raw_body(at), now, reservations.get(at))
        for at in batch.first.values()
    ]
    inserted = insert_inbox(connection, rows)
    new_ids = {(channel, pid): inbox_id for inbox_id, channel, pid in inserted}
    made: dict[Position, Accepted] = {}
    to_ingest: dict[Position, int] = {}
    for key, at in batch.first.items():
        inbox_id = new_ids.get(key)
        if inbox_id is None:
            continue  # stored before (or by another process just now): a repeat
        reserved = reservations.get(at)
        if reserved is None:
            to_ingest[at] = inbox_id
        else:
            made[at] = Accepted(inbox_id, False, reserved[0], reserved[1], True, "new")
    queue_ingest(connection, [made[at].inbox_id for at in made])
    return made, to_ingest


# PostgreSQL gets a channel's ids as one array: an IN list of another length each time
# is a new statement for it to plan.
_ALREADY_STORED = select(INBOX.c.provider_message_id).where(
    INBOX.c.channel == bindparam("channel"),
    INBOX.c.provider_message_id == any_(bindparam("ids", type_=ARRAY(String))),
)


def already_stored(connection: Connection, keys: list[Key]) -> set[Key]:
    """Which of these messages the inbox holds already. One channel at a time: the unique
    index then finds each id (a row-value IN would scan the whole inbox). SQLite gets
    the query from the driver's own statement cache (SQLAlchemy's handling of an
    expanding IN cost more than the lookup)."""
    by_channel: dict[str, list[str]] = {}
    for channel, provider_id in keys:
        by_channel.setdefault(channel, []).append(provider_id)
    seen: set[Key] = set()
    for channel, provider_ids in by_channel.items():
        if connection.dialect.name == "sqlite":
            statement = _sqlitealready_stored(len(provider_ids))
            found = [row[0] for row in driver_rows(connection, statement, [channel, *provider_ids])]
        else:
            found = list(
                connection.execute(
                    _ALREADY_STORED, {"channel": channel, "ids": provider_ids}
                ).scalars()
            )
        seen.update((channel, provider_id) for provider_id in found)
    return seen


@functools.cache
def _sqlitealready_stored(count: int) -> str:
    """SQLite: which of `count` provider ids of one channel the inbox holds."""
    ids = ", ".join(["?"] * count)
    return (
        "SELECT provider_message_id FROM inbox"
        f" WHERE channel = ? AND provider_message_id IN ({ids})"
    )
