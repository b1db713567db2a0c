"""Keeping an incident findable: its words, place and tipster's phone in the index."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.pipeline.assess import incident_text
from intake.pipeline.context import Services
from intake.store.models import Incident, Tipster
from intake.store.search import index_incident


def reindex(
    *, session: Session, services: Services, incident: Incident, text: str | None = None
) -> None:
    """Write the incident's search terms as it stands (`text`: its text, when known)."""
    texts = [text if text is not None else incident_text(incident)]
    place = services.geography.place_name(incident.ward_code, incident.province_code)
    if place:
        texts.append(place)
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
