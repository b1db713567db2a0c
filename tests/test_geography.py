"""The commune snapshot: counts, codes, the old-to-new map, the metadata."""

from __future__ import annotations

import json

from routing.geography import load_geography
from tests.conftest import REPO


def test_counts_and_codes(geography) -> None:  # type: ignore[no-untyped-def]
    assert len(geography.provinces) == 34
    assert len(geography.wards) == 3321
    kinds = {w.kind for w in geography.wards.values()}
    assert kinds == {"Xã", "Phường", "Đặc khu"}
    assert sum(w.kind == "Đặc khu" for w in geography.wards.values()) == 13
    assert all(w.province_code in geography.provinces for w in geography.wards.values())
    assert len(geography.old_provinces) == 63


def test_every_old_commune_has_a_2025_successor(geography) -> None:  # type: ignore[no-untyped-def]
    assert geography.old_wards
    for old in geography.old_wards.values():
        assert old.new_codes, old
        assert all(code in geography.wards for code in old.new_codes)
    split = [o for o in geography.old_wards.values() if len(o.new_codes) > 1]
    assert len(split) >= 400  # communes divided between several new ones keep every one


def test_names_alike_without_diacritics_keep_their_own_successor(geography) -> None:  # type: ignore[no-untyped-def]
    """Tân Thành and Tân Thạnh of one province fold alike; the map tells them apart."""
    assert geography.wards[25534].name.endswith("Tân Thành")
    assert geography.wards[2143].name.endswith("Văn Lang")
    successors = {
        (geography.old_districts[o.district_code].name, o.name): o.new_codes
        for o in geography.old_wards.values()
    }
    assert successors[("Huyện Tân Châu", "Xã Tân Thành")] == (25534,)
    assert successors[("Huyện Na Rì", "Xã Văn Lang")] == (2143,)
    assert successors[("Huyện Tân Thạnh", "Xã Tân Bình")] == (27826,)  # Tân Thạnh, Long An


def test_metadata_describes_the_snapshot() -> None:
    meta = json.loads((REPO / "config" / "geography" / "metadata.json").read_text())
    assert meta["snapshot_version"] and meta["source"] and meta["effective_from"] == "2025-07-01"
    assert meta["counts"]["wards"] == 3321


def test_a_snapshot_that_does_not_match_its_metadata_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "geography"
    folder.mkdir()
    source = REPO / "config" / "geography"
    (folder / "units.json.gz").write_bytes((source / "units.json.gz").read_bytes())
    meta = json.loads((source / "metadata.json").read_text())
    meta["counts"]["wards"] = 3000
    (folder / "metadata.json").write_text(json.dumps(meta))
    try:
        load_geography(folder)
    except ValueError as exc:
        assert "does not match" in str(exc)
    else:
        raise AssertionError("a tampered snapshot was loaded")
