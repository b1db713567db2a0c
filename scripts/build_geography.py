"""Rebuild config/geography/ from the data files shipped in `vietnamadminunits`.

    pip install -e ".[geodata]" && python scripts/build_geography.py

Reads its SQLite dataset (tables `admin_units`, `admin_units_legacy`) and its old-to-new
map (`converter_2025.json`) as data; nothing of that package runs at service time.
A boundary change is a new snapshot: bump SNAPSHOT_VERSION, rebuild, review the diff.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import sqlite3
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

SNAPSHOT_VERSION = "2025.07.01-1"
OUT = Path(__file__).resolve().parents[1] / "config" / "geography"


def _package_data() -> Path:
    import vietnamadminunits  # only the data folder is used

    return Path(vietnamadminunits.__file__).resolve().parent / "data"


def _key(text: str) -> str:
    """The package's keys: lower case, no diacritics, no spaces (repairs a few raw keys)."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def _new_code(new_by_key: dict[tuple[str, str], int], province_key: str, ward_key: str) -> int:
    """The 2025 commune a key of the map names: as written first, then folded."""
    exact = new_by_key.get((province_key, ward_key))
    return exact if exact is not None else new_by_key[(province_key, _key(ward_key))]


def build() -> dict[str, object]:
    """The snapshot as plain data."""
    data = _package_data()
    db = sqlite3.connect(data / "dataset.db")
    db.row_factory = sqlite3.Row
    provinces, wards, new_by_key = [], [], {}
    seen_provinces: set[int] = set()
    for row in db.execute("SELECT * FROM admin_units ORDER BY wardCode"):
        pcode, wcode = int(row["provinceCode"]), int(row["wardCode"])
        if pcode not in seen_provinces:
            seen_provinces.add(pcode)
            aliases = json.loads(row["provinceAlias"] or "[]")
            provinces.append(
                [
                    pcode,
                    row["province"],
                    row["provinceShort"],
                    row["provinceLat"],
                    row["provinceLon"],
                    aliases,
                ]
            )
        wards.append(
            [
                wcode,
                pcode,
                row["ward"],
                row["wardShort"],
                row["wardType"],
                row["wardLat"],
                row["wardLon"],
            ]
        )
        # The map names a new commune by its folded key, or by its key with diacritics where
        # folding would make two communes of one province alike (Tân Thành / Tân Thạnh).
        new_by_key[(row["provinceKey"], row["wardKey"])] = wcode
        if not row["wardKeyDuplicated"]:
            new_by_key[(row["provinceKey"], _key(row["wardKey"]))] = wcode
    province_keys = {
        row["provinceKey"]: int(row["provinceCode"])
        for row in db.execute("SELECT DISTINCT provinceKey, provinceCode FROM admin_units")
    }

    converter = json.loads((data / "converter_2025.json").read_text())
    old_to_new: dict[str, list[int]] = {}
    for new_pkey, by_ward in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_wkey, old_keys in by_ward.items():
            code = _new_code(new_by_key, new_pkey, new_wkey)
            for old_key in old_keys:
                old_to_new.setdefault(old_key, []).append(code)
    for new_pkey, by_old in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, candidates in by_old.items():
            ordered = sorted(candidates, key=lambda c: not c["isDefaultNewWard"])
            codes = [_new_code(new_by_key, new_pkey, c["newWardKey"]) for c in ordered]
            old_to_new[old_key] = list(dict.fromkeys(codes + old_to_new.get(old_key, [])))

    old_provinces, old_districts, old_wards = {}, {}, []
    for row in db.execute("SELECT * FROM admin_units_legacy ORDER BY districtCode, wardCode"):
        pcode, dcode = int(row["provinceCode"]), int(row["districtCode"])
        old_provinces[pcode] = [pcode, row["province"], row["provinceShort"]]
        old_districts[dcode] = [
            dcode,
            pcode,
            row["district"],
            row["districtShort"],
            row["districtType"],
        ]
        ward_key = row["wardKey"] or ""
        full_key = f"{row['provinceKey']}_{row['districtKey']}_{ward_key}"
        new_codes = old_to_new.get(full_key, [])
        if not new_codes:
            raise SystemExit(f"old unit {full_key} has no new commune in the map")
        if row["wardCode"]:
            old_wards.append(
                [
                    int(row["wardCode"]),
                    dcode,
                    row["ward"],
                    row["wardShort"],
                    row["wardType"],
                    row["wardLat"],
                    row["wardLon"],
                    new_codes,
                ]
            )
        else:  # an island district with no communes became one special zone
            old_districts[dcode].append(new_codes)
    return {
        "provinces": provinces,
        "wards": wards,
        "old_provinces": sorted(old_provinces.values()),
        "old_districts": sorted(old_districts.values()),
        "old_wards": old_wards,
        "province_keys": province_keys,
    }


def main() -> None:
    snapshot = build()
    snapshot.pop("province_keys")
    OUT.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":")).encode()
    target = OUT / "units.json.gz"
    with gzip.GzipFile(target, "wb", mtime=0) as out:
        out.write(payload)
    version = importlib.metadata.version("vietnamadminunits")
    meta = {
        "snapshot_version": SNAPSHOT_VERSION,
        "effective_from": "2025-07-01",
        "legal_basis": "Decision 19/2025/QĐ-TTg (statistics-office codes); 2025 merger resolutions",
        "source": f"vietnamadminunits {version} (MIT): data/dataset.db, data/converter_2025.json",
        "built_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "counts": {k: len(v) for k, v in snapshot.items()},  # type: ignore[arg-type]
    }
    (OUT / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(meta["counts"]), file=sys.stderr)


if __name__ == "__main__":
    main()
