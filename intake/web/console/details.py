"""The incident page's details form (victim, caller, categories, purpose) read into
corrections."""

from __future__ import annotations

from typing import Any

from intake.pipeline.desk import DeskError


def _number(form: dict[str, str], name: str, limit: int) -> int | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > limit:
        raise DeskError(f"{name}: một số (a whole number)")
    return int(value)


def details_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The corrections a details form asks for: every field it shows, as shown."""
    changes: dict[str, Any] = {
        "victim": {
            "sex": form.get("sex") or None,
            "age": _number(form, "age", 200),
            "age_group": form.get("age_group") or None,
            "count": _number(form, "count", 100_000),
            "disability": True if form.get("disability") else None,
        },
        "caller": {
            "relation": form.get("relation") or None,
            "consent": bool(form.get("consent")),
        },
        "trafficking_purpose": form.get("trafficking_purpose") or None,
        "reason": "sửa trên trang sự việc (corrected on the incident page)",
    }
    if form.get("categories_shown"):
        changes["categories"] = [c for c in form.get("categories", "").split(",") if c]
    return changes
