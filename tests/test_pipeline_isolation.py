"""One incident the database refuses to write keeps no other incident of its turn out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from channels.base import Channel, InboundMessage, MessageKind
from intake.pipeline.inbox import Submission
from intake.pipeline.inbox_bulk import accept_batch
from intake.pipeline.worker import Worker
from intake.store.models import Incident, Job


def _tip(n: int) -> Submission:
    message = InboundMessage(
        channel=Channel.API,
        provider_message_id=f"9:{n}",
        sender_id=f"partner:9:{n}",
        kind=MessageKind.TEXT,
        received_at=datetime.now(UTC),
        text=f"bo em dang danh em o nha, tin {n}",
        extra={"external_id": f"9:{n}"},
    )
    return Submission((message,), None)


def _refuse_updates_of(services, incident_id: int) -> None:  # type: ignore[no-untyped-def]
    with services.db.writer() as session:
        if services.db.is_sqlite:
            session.execute(
                text(
                    f"CREATE TRIGGER refuse_one BEFORE UPDATE ON incidents WHEN OLD.id = "
                    f"{incident_id} BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
                )
            )
            return
        session.execute(
            text(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF OLD.id = {incident_id} THEN RAISE EXCEPTION 'refused for the test'; "
                "END IF; RETURN NEW; END $$"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER refuse_one BEFORE UPDATE ON incidents FOR EACH ROW "
                "EXECUTE FUNCTION refuse_one()"
            )
        )


def test_a_refused_incident_is_retried_and_the_rest_go_through(services) -> None:  # type: ignore[no-untyped-def]
    outcomes = accept_batch(
        db=services.db,
        cipher=services.cipher,
        submissions=[_tip(n) for n in range(4)],
        options=services.ingest,
    )
    ids = [outcome[0].incident_id for outcome in outcomes]  # type: ignore[index]
    refused = ids[1]
    _refuse_updates_of(services, refused)
    Worker(services).run_once()  # ingest, then process and route the same turn
    with services.db.reader() as session:
        statuses = {i: s for i, s in session.execute(select(Incident.id, Incident.status))}
        job = session.scalars(
            select(Job).where(Job.kind == "process", Job.key == str(refused))
        ).one()
    assert statuses[refused] == "new"
    assert all(statuses[i] == "triaged" for i in ids if i != refused)
    assert job.state == "pending" and job.last_error and "refused" in job.last_error
