"""The route class every router uses: text that no record may hold is refused at the door.

C0 control characters other than tab and the line breaks are never part of a name, a note or a
code a person types. PostgreSQL refuses NUL in any text column (a 500 deep in a flush, after
the rules ran), and the XLSX the ledger is written in refuses the rest (the export would fail
long after the record went in). So they are refused before anything runs: in the query, the
path, a JSON body (keys and values, at any depth) or a form's text fields, with a 422 naming
where (`validation_error`, as the schema's own refusals). Files uploaded in a form are not
text and are not looked at.

A path's `{code}` is the exception: it is a scanner's payload (`/mobile/v1/scan/{code}`,
`/api/v1/lots/by-code/{code}`), which `labels.ids.normalise_scan` cleans of control
characters on purpose (a scanner may send a GS group separator, a NUL, an STX/ETX frame), and
it is only looked up, never stored.

The JSON or form is parsed once: Starlette keeps it on the request and FastAPI reads it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
SCANNER_PAYLOADS = frozenset({"code"})  # path parameters cleaned by normalise_scan, not stored
MESSAGE = "must not contain control characters (U+0000–U+001F other than tab and line breaks)"


def control_character_at(value: Any, loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Where in a parsed JSON value (or a string) a control character stands, if anywhere."""
    if isinstance(value, str):
        return loc if CONTROL.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and CONTROL.search(key):
                return (*loc, key)
            found = control_character_at(item, (*loc, key))
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = control_character_at(item, (*loc, i))
            if found:
                return found
    return None


async def refuse_control_characters(request: Request) -> None:
    """Raise the 422 of `RequestValidationError` at the first control character in the
    request's query, path parameters, JSON body or form text fields."""
    found = control_character_at(dict(request.query_params.multi_items()), ("query",))
    path = {k: v for k, v in request.path_params.items() if k not in SCANNER_PAYLOADS}
    found = found or control_character_at(path, ("path",))
    if found is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json" or ctype.endswith("+json"):
            try:
                body = await request.json()
            except ValueError:
                return  # not JSON: FastAPI answers that itself
            found = control_character_at(body, ("body",))
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            text = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            found = control_character_at(text, ("body",))
    if found is not None:
        raise RequestValidationError(
            [{"type": "control_character", "loc": found, "msg": MESSAGE, "input": None}]
        )


class CheckedRoute(APIRoute):
    """An API route that refuses control characters in what it is sent (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            await refuse_control_characters(request)
            return await original(request)

        return handler
