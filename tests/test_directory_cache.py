"""The directory a process routes with follows every change to the units table."""

from __future__ import annotations

from intake.pipeline.directory_cache import DirectoryCache
from intake.store.models import Unit

WARD, PROVINCE = 16279, 38


def _units(services, cache: DirectoryCache):  # type: ignore[no-untyped-def]
    with services.db.reader() as session:
        return cache.get(session, ward_code=WARD, province_code=PROVINCE)


def _commune_unit(uid: str, kind: str, **contacts: str) -> Unit:
    return Unit(id=uid, kind=kind, name=uid, province_code=PROVINCE, ward_code=WARD, **contacts)


def test_a_changed_unit_is_seen_by_the_next_route(services) -> None:  # type: ignore[no-untyped-def]
    cache = DirectoryCache()
    with services.db.writer() as session:
        session.add(_commune_unit("cp-a", "commune_police", telegram_chat_id="111"))
    first = _units(services, cache)
    assert first.units["cp-a"].telegram_chat_id == "111"
    assert _units(services, cache) is first  # nothing changed: nothing read again

    with services.db.writer() as session:
        changed = session.get(Unit, "cp-a")
        assert changed is not None
        changed.telegram_chat_id = "222"
    assert _units(services, cache).units["cp-a"].telegram_chat_id == "222"

    with services.db.writer() as session:
        session.add(_commune_unit("sw-a", "commune_social_worker", phone="+84912345678"))
    assert set(_units(services, cache).units) >= {"cp-a", "sw-a"}

    with services.db.writer() as session:
        gone = session.get(Unit, "cp-a")
        session.delete(gone)
    assert "cp-a" not in _units(services, cache).units
