"""The units of the places a process routes to, read once per directory version."""

from __future__ import annotations

import threading
from typing import Protocol

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from intake.store.models import Counter, Unit
from routing.plan import Directory, UnitKind, UnitRecord


class UnitColumns(Protocol):
    """What a directory row has: a Unit, or a plain row of its columns."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def province_code(self) -> int: ...
    @property
    def ward_code(self) -> int | None: ...
    @property
    def telegram_chat_id(self) -> str | None: ...
    @property
    def zalo_user_id(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...


def unit_record(unit: UnitColumns) -> UnitRecord:
    """A directory row (a Unit, or a plain row of its columns) as routing sees it."""
    return UnitRecord(
        id=unit.id,
        kind=UnitKind(unit.kind),
        name=unit.name,
        province_code=unit.province_code,
        ward_code=unit.ward_code,
        telegram_chat_id=unit.telegram_chat_id,
        zalo_user_id=unit.zalo_user_id,
        phone=unit.phone,
        email=unit.email,
    )


def _load_directory(
    session: Session, *, ward_code: int | None, province_code: int | None
) -> Directory:
    """The units that can matter for one place: its commune, its province, the supervisors
    (read through `DirectoryCache`)."""
    # One indexed query per part, not one OR over the whole directory (a full scan).
    columns = (
        Unit.id,
        Unit.kind,
        Unit.name,
        Unit.province_code,
        Unit.ward_code,
        Unit.telegram_chat_id,
        Unit.zalo_user_id,
        Unit.phone,
        Unit.email,
    )
    # A unit an administrator switched off is never routed to.
    parts = [select(*columns).where(Unit.kind == UnitKind.HOTLINE_SUPERVISOR, Unit.active)]
    if ward_code is not None:
        parts.append(select(*columns).where(Unit.ward_code == ward_code, Unit.active))
    if province_code is not None:
        parts.append(
            select(*columns).where(
                Unit.province_code == province_code, Unit.ward_code.is_(None), Unit.active
            )
        )
    # Plain rows, not ORM objects: this runs for every incident routed.
    rows = session.execute(union(*parts))
    return Directory(unit_record(row) for row in rows)


_DIRECTORY_VERSION = select(Counter.value).where(Counter.name == "directory")


class DirectoryCache:
    """The units of the places this process routed to, kept while the directory's version
    (bumped by the database on every change to the units table) stays the same.

    The version is read in the caller's transaction, so a route never mixes an old
    directory with a newer one. One primary-key read instead of three unit queries per
    incident routed.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._version: int | None = None
        self._places: dict[tuple[int | None, int | None], Directory] = {}
        self._lock = threading.Lock()

    def get(
        self, session: Session, *, ward_code: int | None, province_code: int | None
    ) -> Directory:
        version = session.execute(_DIRECTORY_VERSION).scalar() or 0
        key = (ward_code, province_code)
        with self._lock:
            if version != self._version:
                self._places.clear()
                self._version = version
            found = self._places.get(key)
        if found is not None:
            return found
        directory = _load_directory(session, ward_code=ward_code, province_code=province_code)
        with self._lock:
            if version == self._version:
                if len(self._places) >= self.size:
                    self._places.clear()
                self._places[key] = directory
        return directory
