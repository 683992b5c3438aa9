"""The console names every event type in Chinese (the timeline never shows a raw type)."""

from __future__ import annotations

import app.tables  # noqa: F401  (registers every module's events)
from app.domain.events import known_event_types
from app.web.i18n import EVENT_ZH


def test_every_event_type_has_a_chinese_name() -> None:
    missing = [
        t for t in known_event_types() if t.startswith(("lot.", "manifest.")) and t not in EVENT_ZH
    ]
    assert missing == []
