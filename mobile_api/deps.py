"""Device authentication for `/mobile/v1`: only `device` tokens are accepted here, and the
device row is read on every request (a revoked device gets 401 at once).

`CurrentDevice`: any token of an enrolled, unrevoked device (enrolment or session token).
`DeviceReader` / `DeviceWriter`: an operator signed in on such a device; the principal is scoped
to the device's site and carries `device_id`, so every event records user and device. The
dependency shares the route's session (one transaction per request).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.context import AppContext
from app.deps import CtxDep, ReadSessionDep, SessionDep
from app.domain.errors import Unauthenticated
from app.identity import devices as device_service
from app.identity.devices import Device
from app.identity.permissions import Permission, Principal

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="DeviceToken",
    description="a device token: the enrolment token for sign-in, then the session token",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def _claims(ctx: CtxDep, creds: Credentials) -> device_service.DeviceClaims:
    # async: a signature check without I/O, so no threadpool hop on every handheld request
    if creds is None or not creds.credentials:
        raise Unauthenticated("send the device token: 'Authorization: Bearer <token>'")
    return device_service.decode_device_token(ctx=ctx, token=creds.credentials)


Claims = Annotated[device_service.DeviceClaims, Depends(_claims)]


def get_device(claims: Claims, session: ReadSessionDep) -> Device:
    return device_service.active_device(session=session, device_id=claims.device_id)


def _operator(
    session: Session, claims: device_service.DeviceClaims, *any_of: Permission
) -> Principal:
    """The signed-in user of the device, who must hold one of `any_of`."""
    principal = device_service.device_principal(session=session, claims=claims)
    if not any(principal.has(p) for p in any_of):
        principal.require(any_of[0])
    return principal


def reader(session: Session, claims: device_service.DeviceClaims) -> Principal:
    """The signed-in operator of the device, allowed to read (`DeviceReader`, for a route that
    opens its session itself)."""
    return _operator(session, claims, Permission.lot_read, Permission.manifest_read)


def get_reader(claims: Claims, session: ReadSessionDep) -> Principal:
    return reader(session, claims)


@dataclass(frozen=True)
class DeviceRead:
    """`DeviceReader` for a hot route that opens its session itself: `with read.open() as
    (session, actor)` opens a read-only session and resolves the operator with the same check,
    in the endpoint's one trip to the threadpool (a dependency each would take its own).

    The session reads without a snapshot (no transaction on PostgreSQL): a scan's answer is
    advice, and every step it offers is checked again, under the chain lock, when it is done."""

    ctx: AppContext
    claims: device_service.DeviceClaims

    @contextmanager
    def open(self) -> Iterator[tuple[Session, Principal]]:
        with self.ctx.db.session(write=False, snapshot=False) as session:
            yield session, reader(session, self.claims)


async def get_device_read(ctx: CtxDep, claims: Claims) -> DeviceRead:
    return DeviceRead(ctx, claims)  # no I/O here: the token was checked, the rest is in open()


def get_writer(claims: Claims, session: SessionDep) -> Principal:
    # plant staff act on lots; a carrier's or handler's staff load or receive manifest lots
    return _operator(
        session,
        claims,
        Permission.lot_write,
        Permission.manifest_carry,
        Permission.manifest_receive,
    )


CurrentDevice = Annotated[Device, Depends(get_device)]
DeviceReading = Annotated[DeviceRead, Depends(get_device_read)]
DeviceReader = Annotated[Principal, Depends(get_reader)]
DeviceWriter = Annotated[Principal, Depends(get_writer)]
