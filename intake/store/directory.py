"""Loading the directory of responsible units into the database."""

from __future__ import annotations

import gzip
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.store.models import Unit
from routing.directory import DirectoryImport, parse_directory
from routing.geography import Geography
from routing.plan import UnitRecord

DEMO_DIRECTORY = (
    Path(__file__).resolve().parents[2] / "config" / "routing" / "demo_directory.csv.gz"
)


def read_directory(path: Path, geography: Geography) -> DirectoryImport:
    """Parse a directory CSV (plain or gzip) against the commune list."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text") from exc
    return parse_directory(
        text,
        ward_province={code: ward.province_code for code, ward in geography.wards.items()},
        provinces=geography.provinces,
    )


def save_units(*, session: Session, units: list[UnitRecord], demo: bool = False) -> int:
    """Insert or update units by id; returns how many were written."""
    for record in units:
        unit = session.get(Unit, record.id) or Unit(id=record.id)
        unit.kind = str(record.kind)
        unit.name = record.name
        unit.province_code = record.province_code or 0
        unit.ward_code = record.ward_code
        unit.telegram_chat_id = record.telegram_chat_id
        unit.zalo_user_id = record.zalo_user_id
        unit.phone = record.phone
        unit.email = record.email
        unit.demo = demo
        session.add(unit)
    return len(units)


def directory_is_empty(session: Session) -> bool:
    """True before any unit was loaded."""
    return not session.scalar(select(func.count()).select_from(Unit))
