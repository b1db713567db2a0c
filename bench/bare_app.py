"""The baseline for bench/ingest.py: the same route and body model, no storage at all."""

from __future__ import annotations

from fastapi import FastAPI

from intake.web.schemas import TipAccepted, TipCreate

app = FastAPI()
_count = 0


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/v1/tips", status_code=201, response_model=TipAccepted)
async def create_tip(tip: TipCreate) -> TipAccepted:
    global _count
    _count += 1
    return TipAccepted(id=_count, reference=f"111-0000-{_count:04d}", status="new")
