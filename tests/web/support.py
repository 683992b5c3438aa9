"""A browser-like client for the console: its own cookie jar, signs in through the form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.support.client import Api
from tests.support.world import PASSWORD

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Web:
    def __init__(self, api: Api, username: str | None = None) -> None:
        self.api = api
        self.client = TestClient(api.app, follow_redirects=False)
        self.csrf = ""
        if username:
            r = self.login(username)
            assert r.status_code == 303, r.text

    def login(self, username: str, password: str = PASSWORD) -> Response:
        page = self.client.get("/login")
        token = CSRF.search(page.text)
        assert token, page.text
        r = self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf": token.group(1)},
        )
        if r.status_code == 303:
            self.csrf = self.token_from(self.client.get(r.headers["location"]))
        return r

    @staticmethod
    def token_from(r: Response) -> str:
        m = CSRF.search(r.text)
        return m.group(1) if m else ""

    def get(self, path: str, **kw: Any) -> Response:
        return self.client.get(path, **kw)

    def post(self, path: str, data: Any = None, csrf: bool = True, **kw: Any) -> Response:
        body: Any = data
        if csrf:
            if isinstance(body, list):
                body = [*body, ("csrf", self.csrf)]
            else:
                body = {**(body or {}), "csrf": self.csrf}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if isinstance(body, list):
            from urllib.parse import urlencode

            return self.client.post(path, content=urlencode(body), headers=headers, **kw)
        return self.client.post(path, data=body, **kw)
