"""Enrolled handheld devices: a device belongs to one site and holds a revocable device token.

Two tokens of type `device` exist, both naming the device as `sub`:

- the **enrolment token**, given to the admin who enrols the device and kept on it;
- the **session token**, issued when an operator signs in on the device: it also carries the
  user (`uid`). Every event recorded with it carries both the user and the device.

Both are refused on user routes (their type is not `user`), and both stop working the moment the
device is revoked: the `device` row is read on every request.

Enrolling and revoking a device are recorded in the change trail (`app.audit.changes`), never
with its token.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from app.audit.changes import changed, record_change, row_values
from app.context import AppContext
from app.core.db import UTCDateTime
from app.core.security import create_token, decode_token
from app.domain.errors import NotFound, PermissionDenied, Unauthenticated
from app.identity.models import Site, User, UserSite
from app.identity.permissions import Permission, Principal, Role
from app.identity.service import NO_ACCOUNT, authenticate, principal_for

DEVICE_TOKEN = "device"
REVOKED = "this device has been revoked: ask an administrator to enrol it"
NOT_ENROLLED = "this device is not enrolled"


class Device(SQLModel, table=True):
    """A handheld enrolled for one site. Revoked devices keep their row (events name them)."""

    __tablename__ = "device"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    site_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("site.id"), nullable=False, index=True)
    )
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    enrolled_by: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("app_user.id"), nullable=False)
    )
    enrolled_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    revoked_by: UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("app_user.id"))
    )


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def _token(ctx: AppContext, device: Device, ttl: timedelta, extra: dict[str, Any]) -> IssuedToken:
    s = ctx.settings
    token = create_token(
        secret=s.effective_jwt_secret,
        subject=device.id,
        token_type=DEVICE_TOKEN,
        audience=s.auth.audience,
        issuer=s.auth.issuer,
        now=ctx.clock.now(),
        ttl=ttl,
        extra={"site": str(device.site_id), **extra},
    )
    return IssuedToken(token=token, expires_in=int(ttl.total_seconds()))


# ---------------------------------------------------------------- admin


def enrol_device(
    *, session: Session, ctx: AppContext, actor: Principal, site_id: UUID, name: str
) -> tuple[Device, IssuedToken]:
    """Enrol a handheld for a site; the answer holds its enrolment token (shown once)."""
    actor.require(Permission.site_admin)
    if session.get(Site, site_id) is None:
        raise NotFound("site not found", site_id=str(site_id))
    actor.require_site(site_id, hide=False)
    device = Device(
        id=uuid4(),
        site_id=site_id,
        name=name.strip(),
        enrolled_by=actor.user_id,
        enrolled_at=ctx.clock.now(),
    )
    session.add(device)
    session.flush()
    record_change(
        session,
        entity="device",
        entity_id=device.id,
        action="created",
        actor=actor,
        at=device.enrolled_at,
        data=row_values(device),
    )
    ttl = timedelta(days=ctx.settings.mobile.device_token_days)
    return device, _token(ctx, device, ttl, {})


def revoke_device(
    *, session: Session, ctx: AppContext, actor: Principal, device_id: UUID
) -> Device:
    """Revoke a device: its enrolment and session tokens are refused from now on."""
    actor.require(Permission.site_admin)
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("device not found", device_id=str(device_id))
    actor.require_site(device.site_id)
    if device.revoked_at is None:
        before = row_values(device)
        device.revoked_at = ctx.clock.now()
        device.revoked_by = actor.user_id
        session.add(device)
        session.flush()
        after = row_values(device)
        record_change(
            session,
            entity="device",
            entity_id=device.id,
            action="revoked",
            actor=actor,
            at=device.revoked_at,
            data={**after, "changed": changed(before, after)},
        )
    return device


def list_devices(*, session: Session, actor: Principal) -> list[Device]:
    actor.require(Permission.site_admin)
    q = select(Device).where(Device.site_id.in_(actor.site_ids))  # type: ignore[attr-defined]
    return list(session.exec(q.order_by(Device.enrolled_at)))


# ---------------------------------------------------------------- tokens on the device


@dataclass(frozen=True)
class DeviceClaims:
    device_id: UUID
    user_id: UUID | None


def decode_device_token(*, ctx: AppContext, token: str) -> DeviceClaims:
    s = ctx.settings
    claims = decode_token(
        token,
        secret=s.effective_jwt_secret,
        audience=s.auth.audience,
        issuer=s.auth.issuer,
        token_type=DEVICE_TOKEN,
    )
    try:
        return DeviceClaims(
            device_id=UUID(claims["sub"]),
            user_id=UUID(claims["uid"]) if claims.get("uid") else None,
        )
    except ValueError as exc:
        raise Unauthenticated("the device token is invalid") from exc


def active_device(*, session: Session, device_id: UUID) -> Device:
    """The device, or 401 when it is unknown or revoked (checked on every request)."""
    device = session.get(Device, device_id)
    if device is None:
        raise Unauthenticated(NOT_ENROLLED)
    if device.revoked_at is not None:
        raise Unauthenticated(REVOKED)
    return device


# The device, its operator and whether the operator may act at the device's site, in one
# round trip: it runs on every handheld request (a revoked device or a disabled user is refused
# at once), so it is built once, like the event store's statements.
_D = Device.__table__  # type: ignore[attr-defined]
_U = User.__table__  # type: ignore[attr-defined]
_S = Site.__table__  # type: ignore[attr-defined]
_US = UserSite.__table__  # type: ignore[attr-defined]
_OPERATOR = (
    sa.select(
        _D.c.revoked_at,
        _D.c.site_id,
        _U.c.id,
        _U.c.username,
        _U.c.role,
        _U.c.enterprise_id,
        _U.c.is_active,
        sa.or_(
            sa.and_(_U.c.all_sites, _S.c.enterprise_id == _U.c.enterprise_id),
            sa.exists().where(_US.c.user_id == _U.c.id, _US.c.site_id == _D.c.site_id),
        ).label("may_act"),
    )
    .select_from(_D.join(_S, _S.c.id == _D.c.site_id))
    .outerjoin(_U, _U.c.id == sa.bindparam("user_id"))
    .where(_D.c.id == sa.bindparam("device_id"))
)


def device_principal(*, session: Session, claims: DeviceClaims) -> Principal:
    """The operator signed in on the device, scoped to the device's site, carrying its id.

    The same answers as `active_device` + `principal_for` + the site check, in one query."""
    if claims.user_id is None:
        active_device(session=session, device_id=claims.device_id)  # 401 names the cause
        raise Unauthenticated("sign in on the device first (POST /mobile/v1/auth/sign-in)")
    row = (
        session.connection()
        .execute(_OPERATOR, {"device_id": claims.device_id, "user_id": claims.user_id})
        .first()
    )
    if row is None:
        raise Unauthenticated(NOT_ENROLLED)
    if row.revoked_at is not None:
        raise Unauthenticated(REVOKED)
    if row.id is None or not row.is_active:
        raise Unauthenticated(NO_ACCOUNT)
    if not row.may_act:
        raise Unauthenticated("this user may no longer act at the device's site")
    return Principal(
        user_id=row.id,
        username=row.username,
        role=Role(row.role),
        enterprise_id=row.enterprise_id,
        site_ids=frozenset({row.site_id}),
        device_id=claims.device_id,
    )


# Who has a use for a handheld: plant staff (lots), a carrier's crew (loading) and a handler's
# gate staff (receipt), each at a site of their own organisation.
HANDHELD_PERMISSIONS = (Permission.lot_read, Permission.manifest_carry, Permission.manifest_receive)


def sign_in(
    *,
    session: Session,
    ctx: AppContext,
    device: Device,
    username: str,
    password: str,
    client: str | None = None,
) -> tuple[Principal, IssuedToken]:
    """An operator signs in on an enrolled device: a session token for (user, device)."""
    user = authenticate(
        session=session, ctx=ctx, username=username, password=password, client=client
    )
    principal = principal_for(session=session, user_id=user.id)
    if device.site_id not in principal.site_ids:
        raise PermissionDenied("you may not act at this device's site", site_id=str(device.site_id))
    if not any(principal.has(p) for p in HANDHELD_PERMISSIONS):
        raise PermissionDenied(f"role {principal.role.value} has no use for a handheld")
    ttl = timedelta(minutes=ctx.settings.mobile.session_token_minutes)
    issued = _token(ctx, device, ttl, {"uid": str(user.id), "role": user.role})
    scoped = replace(principal, site_ids=frozenset({device.site_id}), device_id=device.id)
    return scoped, issued
