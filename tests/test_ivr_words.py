"""The IVR's own wording is not the caller's: a "press 2" call is not read as abuse
because the menu says "xâm hại"; what the caller said still is."""

from __future__ import annotations

from channels.twilio_voice import CHOICE_TEXT, RECORDING_TEXT, SPEECH_MARK, caller_words
from intake.pipeline.assess import incident_text
from intake.store.models import Incident, Message


def _call(*texts: str) -> Incident:
    incident = Incident(reference="111-2612-0001", channel="voice")
    incident.messages = [
        Message(direction="in", channel="voice", kind="call", text=t) for t in texts
    ]
    return incident


def test_the_menus_words_are_not_triaged(rules) -> None:  # type: ignore[no-untyped-def]
    from triage import classify

    pressed_two = _call(CHOICE_TEXT["report"], "[Cuộc gọi] Kết thúc (completed).")
    assert incident_text(pressed_two) == ""
    assert "sexual_abuse" not in {str(c) for c in classify("", rules=rules).categories}


def test_what_the_caller_said_is_triaged() -> None:
    spoken = _call(
        CHOICE_TEXT["danger_now"] + SPEECH_MARK + "bố đang đánh em",
        RECORDING_TEXT + " (12 giây): em ở xã Thiệu Trung",
    )
    assert incident_text(spoken) == "bố đang đánh em\nem ở xã Thiệu Trung"
    assert caller_words("chữ một người trực tổng đài ghi") == "chữ một người trực tổng đài ghi"
