"""Playing the insider with database access: the log's append-only triggers dropped, so a test
can change or remove rows and see verification name them."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.db import make_engine
from tests.support.client import Api


def drop_log_triggers(api: Api, backend: str) -> sa.Engine:
    """Drop the triggers that keep `stored_event` append-only; an engine on the database."""
    eng = make_engine(api.url)
    with eng.begin() as c:
        if backend == "postgresql":
            c.exec_driver_sql("DROP TRIGGER stored_event_append_only ON stored_event")
        else:
            c.exec_driver_sql("DROP TRIGGER stored_event_no_update")
            c.exec_driver_sql("DROP TRIGGER stored_event_no_delete")
    return eng
