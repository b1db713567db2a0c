"""Keeping an incident findable: its words, place (with the names it had before the 2025
merger, which people still use) and tipster's phone in the index."""

from __future__ import annotations

import weakref
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.pipeline.assess import incident_text
from intake.pipeline.context import Services
from intake.store.models import Incident, Tipster
from intake.store.search import index_incident
from routing.geography import Geography

# Per geography snapshot: each 2025 commune's and province's former names.
_FORMER: weakref.WeakKeyDictionary[Geography, tuple[dict[int, list[str]], dict[int, list[str]]]]
_FORMER = weakref.WeakKeyDictionary()


def _former_maps(geo: Geography) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """For each 2025 commune, the pre-2025 communes, districts and provinces it took land
    from; for each 2025 province, the pre-2025 provinces merged into it."""
    maps = _FORMER.get(geo)
    if maps is None:
        wards: dict[int, dict[str, None]] = defaultdict(dict)
        provinces: dict[int, dict[str, None]] = defaultdict(dict)
        for old in geo.old_wards.values():
            district = geo.old_districts[old.district_code]
            province = geo.old_provinces.get(district.old_province_code, "")
            for code in old.new_codes:
                wards[code].update(dict.fromkeys((old.name, district.name, province)))
        for district in geo.old_districts.values():
            for code in district.new_codes:  # island districts that had no communes
                wards[code][district.name] = None
        for old_code, new_codes in geo.old_province_to_new.items():
            for code in new_codes:
                provinces[code][geo.old_provinces[old_code]] = None
        maps = (
            {code: [n for n in names if n] for code, names in wards.items()},
            {code: [n for n in names if n] for code, names in provinces.items()},
        )
        _FORMER[geo] = maps
    return maps


def former_names(geo: Geography, ward_code: int | None, province_code: int | None) -> list[str]:
    """The names a place had before 2025 (commune, district, province) that people use."""
    wards, provinces = _former_maps(geo)
    if ward_code is not None:
        return wards.get(ward_code, [])
    return provinces.get(province_code, []) if province_code is not None else []


def reindex(
    *, session: Session, services: Services, incident: Incident, text: str | None = None
) -> None:
    """Write the incident's search terms as it stands (`text`: its text, when known)."""
    # The place first: a very long conversation's words must not crowd it out (MAX_TERMS).
    texts = [services.geography.place_name(incident.ward_code, incident.province_code)]
    texts += former_names(services.geography, incident.ward_code, incident.province_code)
    texts.append(text if text is not None else incident_text(incident))
    phones = []
    tipster = session.get(Tipster, incident.tipster_id) if incident.tipster_id else None
    if tipster is not None and tipster.phone:
        phones.append(services.cipher.decrypt(tipster.phone) or "")
    index_incident(
        session=session,
        cipher=services.cipher,
        incident_id=incident.id,
        texts=texts,
        phones=phones,
    )


def reindex_all(services: Services, batch: int = 200) -> int:
    """Index every incident (those stored before the index existed); returns how many."""
    done, last = 0, 0
    while True:
        with services.db.writer() as session:
            incidents = session.scalars(
                select(Incident).where(Incident.id > last).order_by(Incident.id).limit(batch)
            ).all()
            for incident in incidents:
                reindex(session=session, services=services, incident=incident)
        if not incidents:
            return done
        done += len(incidents)
        last = incidents[-1].id
