"""Incident ids and references: counters that move inside the writer's transaction."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, String, bindparam, column, func, select, table, text
from sqlalchemy.orm import Session

from intake.store.db import built_once, driver_rows
from intake.store.times import VN_TZ

# Plain table clauses: the models take their incident ids from here, so this module
# cannot import them.
COUNTERS = table("counters", column("name", String), column("value", Integer))
INCIDENTS = table("incidents", column("id", Integer))


def allocate_reference(*, session: Session, at: datetime) -> str:
    """The next short human reference, 111-YYMM-NNNN, numbered per month (Vietnam time)."""
    (reference,) = allocate_references(session.connection(), at=[at])
    return reference


def reference_period(moment: datetime) -> str:
    """The month a reference is numbered in: YYMM of the moment in Vietnam."""
    return moment.astimezone(VN_TZ).strftime("%y%m")


def allocate_references(connection: Connection, *, at: list[datetime]) -> list[str]:
    """One reference for each time in `at`, in order: one counter update per month."""
    periods = [reference_period(moment) for moment in at]
    last: dict[str, int] = {}
    for period in dict.fromkeys(periods):
        last[period] = connection.execute(
            built_once(connection, "bump counter", _bump_counter),
            {"name": f"ref:{period}", "count": periods.count(period)},
        ).scalar_one()
    return _references(periods, last)


def number_incidents(connection: Connection, *, at: list[datetime]) -> list[tuple[int, str]]:
    """An incident id and a reference for each of len(at) new incidents (opened at those
    times), in order. On SQLite all the counters move in one statement, given to the
    driver as it is: this runs for every batch of intake."""
    if not at:
        return []
    if connection.dialect.name != "sqlite":
        ids = reserve_incident_ids(connection, len(at))
        return list(zip(ids, allocate_references(connection, at=at), strict=True))
    periods = [reference_period(moment) for moment in at]
    months = list(dict.fromkeys(periods))
    parameters: list[object] = [len(at)]
    for period in months:
        parameters += [f"ref:{period}", periods.count(period)]
    values = dict(driver_rows(connection, _sqlite_bump_counters(len(months)), parameters))
    highest_id = values["incident_id"]
    new_ids = range(highest_id - len(at) + 1, highest_id + 1)
    last = {period: values[f"ref:{period}"] for period in months}
    return list(zip(new_ids, _references(periods, last), strict=True))


def _references(periods: list[str], last: dict[str, int]) -> list[str]:
    """The references of new incidents in these months, in order, each month's counter
    having just reached `last[month]`."""
    next_number = {period: last[period] - periods.count(period) + 1 for period in last}
    references = []
    for period in periods:
        references.append(f"111-{period}-{next_number[period]:04d}")
        next_number[period] += 1
    return references


@functools.cache
def _sqlite_bump_counters(months: int) -> str:
    """SQLite: the incident-id counter moves up by the first parameter (never below the
    highest id written, as in `_bump_incident_ids`), and each month's reference counter
    (name, count) by its count; returns each counter's new value."""
    highest = "(SELECT coalesce(max(id), 0) FROM incidents)"
    reference_counters = ", (?, ?)" * months
    return (
        "INSERT INTO counters (name, value)"
        f" VALUES ('incident_id', {highest} + ?){reference_counters}"
        " ON CONFLICT (name) DO UPDATE SET value = CASE counters.name"
        # excluded.value is there the highest id plus the count
        f" WHEN 'incident_id' THEN max(excluded.value, counters.value + excluded.value - {highest})"
        " ELSE counters.value + excluded.value END"
        " RETURNING name, value"
    )


_HIGHEST_INCIDENT = select(func.coalesce(func.max(INCIDENTS.c.id), 0)).scalar_subquery()
_PG_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, :count)"
)


def _bump_counter(insert: Any) -> Any:
    """counters[name] += count, returning the new value (the row is made on first use)."""
    return (
        insert(COUNTERS)
        .values(name=bindparam("name"), value=bindparam("count"))
        .on_conflict_do_update(
            index_elements=[COUNTERS.c.name],
            set_={"value": COUNTERS.c.value + bindparam("count")},
        )
        .returning(COUNTERS.c.value)
    )


def _bump_incident_ids(insert: Any) -> Any:
    """SQLite's stand-in for a sequence: counters['incident_id'] += count, never below
    the highest id written."""
    return (
        insert(COUNTERS)
        .values(name="incident_id", value=_HIGHEST_INCIDENT + bindparam("count"))
        .on_conflict_do_update(
            index_elements=[COUNTERS.c.name],
            set_={"value": func.max(COUNTERS.c.value, _HIGHEST_INCIDENT) + bindparam("count")},
        )
        .returning(COUNTERS.c.value)
    )


def reserve_incident_ids(connection: Connection, count: int) -> list[int]:
    """`count` new incident ids, taken now so that a tip can be answered with the id of
    the incident a worker writes a moment later. On PostgreSQL they come from the id
    sequence; SQLite has none, so the `incident_id` counter plays its part, kept above
    every id already used (every incident written takes its id from here: see
    `models.Incident.id`)."""
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        return [int(v) for v in connection.execute(_PG_NEXT_IDS, {"count": count}).scalars()]
    statement = built_once(connection, "bump incident ids", _bump_incident_ids)
    last = int(connection.execute(statement, {"count": count}).scalar_one())
    return list(range(last - count + 1, last + 1))
