"""The directory CSV of responsible units: parsed and checked row by row.

A bad row is rejected with its line number and the reason; the other rows load.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

from routing.plan import COMMUNE_KINDS, PROVINCE_KINDS, UnitKind, UnitRecord

COLUMNS = [
    "unit_id",
    "kind",
    "name",
    "province_code",
    "ward_code",
    "telegram_chat_id",
    "zalo_user_id",
    "phone",
    "email",
]
KINDS = ", ".join(kind.value for kind in UnitKind)
_KIND_LINES = "\n".join(f"                    {kind.value}" for kind in UnitKind)
# The format, as `hotline111 directory import --help` and the README show it.
FORMAT = f"""\
A UTF-8 CSV (or .csv.gz) with this header line, in any order:
  {",".join(COLUMNS)}
  unit_id           1-64 letters, digits or _.:- ; unique (a re-import updates by id)
  kind              one of:
{_KIND_LINES}
  name              shown in alerts and the console
  province_code     2025 province code (empty only for hotline_supervisor)
  ward_code         2025 commune code: required for commune_police,
                    commune_social_worker and border_guard_post; empty for provincial kinds
  telegram_chat_id  where alerts go by Telegram (a chat id, may be negative)
  zalo_user_id      where alerts go by Zalo (digits)
  phone             where alerts go by SMS (0912..., +84912...)
  email             contact shown in the console
A unit needs one of telegram_chat_id, zalo_user_id or phone to be alerted.
Example: config/directory/sample.csv"""
_UNIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CHAT_ID = re.compile(r"^-?\d{1,20}$")
_ZALO_ID = re.compile(r"^\d{1,30}$")


@dataclass(frozen=True)
class Rejected:
    """A row that was not loaded."""

    line: int
    unit_id: str
    reason: str


@dataclass
class DirectoryImport:
    """The units that loaded, the rows that did not, and warnings for the console."""

    units: list[UnitRecord] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def normalize_phone(raw: str) -> str:
    """A Vietnamese (or international) number in E.164: 0912..., 84912..., +84912..."""
    text = re.sub(r"[\s.()-]", "", raw)
    if text.startswith("84") and not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {raw!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone {raw!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _int(value: str, name: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"{name} {value!r} is not a number")
    return int(value)


def _row(row: dict[str, str], ward_province: dict[int, int], provinces: set[int]) -> UnitRecord:
    """One checked unit, or ValueError with the reason."""
    unit_id = row["unit_id"]
    if not _UNIT_ID.match(unit_id):
        raise ValueError(f"unit_id {unit_id!r} must be 1-64 letters, digits or _.:-")
    try:
        kind = UnitKind(row["kind"])
    except ValueError as exc:
        raise ValueError(f"unknown kind {row['kind']!r} (valid: {KINDS})") from exc
    if not row["name"]:
        raise ValueError("name is empty")
    province = _int(row["province_code"], "province_code")
    ward = _int(row["ward_code"], "ward_code")
    if kind != UnitKind.HOTLINE_SUPERVISOR:
        if province is None:
            raise ValueError("province_code is empty")
        if province not in provinces:
            raise ValueError(f"unknown province_code {province}")
    if kind in COMMUNE_KINDS:
        if ward is None:
            raise ValueError(f"a {kind} needs a ward_code")
        if ward not in ward_province:
            raise ValueError(f"unknown ward_code {ward}")
        if ward_province[ward] != province:
            raise ValueError(f"ward_code {ward} is not in province {province}")
    elif ward is not None and kind in PROVINCE_KINDS:
        raise ValueError(f"a {kind} is province-level: leave ward_code empty")
    telegram = row["telegram_chat_id"] or None
    if telegram and not _CHAT_ID.match(telegram):
        raise ValueError(f"telegram_chat_id {telegram!r} is not a chat id")
    zalo = row["zalo_user_id"] or None
    if zalo and not _ZALO_ID.match(zalo):
        raise ValueError(f"zalo_user_id {zalo!r} is not a Zalo user id")
    phone = normalize_phone(row["phone"]) if row["phone"] else None
    email = row["email"] or None
    if email and not _EMAIL.match(email):
        raise ValueError(f"email {email!r} is not an address")
    return UnitRecord(unit_id, kind, row["name"], province, ward, telegram, zalo, phone, email)


def parse_directory(
    text: str, *, ward_province: dict[int, int], provinces: Iterable[int]
) -> DirectoryImport:
    """Parse the CSV text; `ward_province` maps every 2025 ward code to its province."""
    result = DirectoryImport()
    province_set = set(provinces)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        result.rejected.append(
            Rejected(
                1, "", f"header lacks columns: {', '.join(missing)} (expected: {','.join(COLUMNS)})"
            )
        )
        return result
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        unit_id = clean.get("unit_id", "")
        try:
            unit = _row(clean, ward_province, province_set)
        except ValueError as exc:
            result.rejected.append(Rejected(line, unit_id, str(exc)))
            continue
        if unit.id in seen:
            result.rejected.append(Rejected(line, unit.id, "duplicate unit_id"))
            continue
        seen.add(unit.id)
        if not (unit.telegram_chat_id or unit.zalo_user_id or unit.phone):
            result.warnings.append(f"line {line}: unit {unit.id} has no reachable contact")
        result.units.append(unit)
    return result


def render_import_report(result: DirectoryImport) -> str:
    """What `hotline111 directory import` prints."""
    lines = [f"loaded {len(result.units)} units, rejected {len(result.rejected)} rows"]
    lines += [f"  line {r.line} {r.unit_id or '-'}: {r.reason}" for r in result.rejected]
    lines += [f"  warning: {w}" for w in result.warnings[:50]]
    if len(result.warnings) > 50:
        lines.append(f"  ... and {len(result.warnings) - 50} more warnings")
    return "\n".join(lines)
