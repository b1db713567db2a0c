"""The commune snapshot: 2025 provinces and communes, the pre-2025 units and the map."""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.text import fold

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "geography"
_UNIT_PREFIX = re.compile(
    r"^(tinh|thanh pho|quan|huyen|thi xa|phuong|xa|thi tran|dac khu)\s+", re.IGNORECASE
)


def name_key(name: str) -> str:
    """The folded name without its unit type, numbers without leading zeros ("phuong 05" -> "5")."""
    folded = _UNIT_PREFIX.sub("", fold(name))
    folded = re.sub(r"\b0+(\d)", r"\1", folded)
    return " ".join(re.findall(r"\w+", folded))


def name_keys(name: str) -> list[str]:
    """Every key a name is known by: "Xuân Hương - Đà Lạt" also as "Xuân Hương"."""
    keys = [name_key(name)]
    if " - " in name:
        keys.append(name_key(name.split(" - ")[0]))
    return keys


@dataclass(frozen=True)
class Province:
    code: int
    name: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class Ward:
    code: int
    province_code: int
    name: str
    kind: str  # Xã, Phường, Đặc khu
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class OldDistrict:
    code: int
    old_province_code: int
    name: str
    new_codes: tuple[int, ...]  # only for island districts that had no communes


@dataclass(frozen=True)
class OldWard:
    code: int
    district_code: int
    name: str
    kind: str  # Xã, Phường, Thị trấn
    new_codes: tuple[int, ...]  # the default new commune first


class Geography:
    """Every unit by code, and folded-name indexes for the resolver."""

    def __init__(self, snapshot: dict[str, list[list[Any]]], metadata: dict[str, Any]):
        self.metadata = metadata
        self.provinces: dict[int, Province] = {}
        self.province_aliases: dict[str, set[int]] = defaultdict(set)
        for code, name, _short, lat, lon, aliases in snapshot["provinces"]:
            province = Province(int(code), str(name), _float(lat), _float(lon))
            self.provinces[province.code] = province
            self.province_aliases[name_key(province.name)].add(province.code)
            for alias in aliases:
                self.province_aliases[fold(str(alias))].add(province.code)
        self.wards: dict[int, Ward] = {}
        self.wards_by_key: dict[str, list[int]] = defaultdict(list)
        self.wards_of_province: dict[int, list[int]] = defaultdict(list)
        for code, pcode, name, _short, kind, lat, lon in snapshot["wards"]:
            ward = Ward(int(code), int(pcode), str(name), str(kind), _float(lat), _float(lon))
            self.wards[ward.code] = ward
            for key in name_keys(ward.name):
                self.wards_by_key[key].append(ward.code)
            self.wards_of_province[ward.province_code].append(ward.code)
        self.old_provinces: dict[int, str] = {}
        for code, name, _short in snapshot["old_provinces"]:
            self.old_provinces[int(code)] = str(name)
        self.old_districts: dict[int, OldDistrict] = {}
        self.old_districts_by_key: dict[str, list[int]] = defaultdict(list)
        for row in snapshot["old_districts"]:
            code, pcode, name = int(row[0]), int(row[1]), str(row[2])
            new = tuple(int(c) for c in row[5]) if len(row) > 5 else ()
            self.old_districts[code] = OldDistrict(code, pcode, name, new)
            self.old_districts_by_key[name_key(name)].append(code)
        self.old_wards: dict[int, OldWard] = {}
        self.old_wards_by_key: dict[str, list[int]] = defaultdict(list)
        self.old_wards_of_district: dict[int, list[int]] = defaultdict(list)
        for code, dcode, name, _short, kind, _lat, _lon, new in snapshot["old_wards"]:
            old = OldWard(int(code), int(dcode), str(name), str(kind), tuple(int(c) for c in new))
            self.old_wards[old.code] = old
            self.old_wards_by_key[name_key(old.name)].append(old.code)
            self.old_wards_of_district[old.district_code].append(old.code)
        # Which new provinces an old province's communes went to.
        self.old_province_to_new: dict[int, set[int]] = defaultdict(set)
        for old_ward in self.old_wards.values():
            old_province = self.old_districts[old_ward.district_code].old_province_code
            for new_code in old_ward.new_codes:
                self.old_province_to_new[old_province].add(self.wards[new_code].province_code)
        for code, name in self.old_provinces.items():
            key = name_key(name)
            if not (self.province_aliases.get(key) or set()) & self.old_province_to_new[code]:
                self.province_aliases[key] |= self.old_province_to_new[code]
        self.old_province_keys = {name_key(n): c for c, n in self.old_provinces.items()}
        self.all_ward_codes = frozenset(self.wards)

    def ward(self, code: int) -> Ward | None:
        """A 2025 commune by its official code."""
        return self.wards.get(code)

    def province(self, code: int) -> Province | None:
        """A 2025 province by its official code."""
        return self.provinces.get(code)

    def place_name(self, ward_code: int | None, province_code: int | None) -> str:
        """ "Xã Thiệu Trung, Tỉnh Thanh Hóa", or as much of it as is known."""
        parts = []
        ward = self.wards.get(ward_code) if ward_code is not None else None
        if ward is not None:
            parts.append(ward.name)
            province_code = ward.province_code
        province = self.provinces.get(province_code) if province_code is not None else None
        if province is not None:
            parts.append(province.name)
        return ", ".join(parts)

    def old_province_of_district(self, district_code: int) -> int:
        """The pre-2025 province an old district belonged to."""
        return self.old_districts[district_code].old_province_code


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def load_geography(path: Path | None = None) -> Geography:
    """Load and check the snapshot in `path` (default: the repository's config/geography)."""
    folder = path or DEFAULT_PATH
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    with gzip.open(folder / "units.json.gz", "rt", encoding="utf-8") as stream:
        snapshot = json.load(stream)
    counts = {key: len(value) for key, value in snapshot.items()}
    if counts != metadata.get("counts"):
        raise ValueError(f"geography snapshot in {folder} does not match its metadata: {counts}")
    return Geography(snapshot, metadata)
