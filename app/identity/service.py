"""Use cases for organisations, sites, users and sign-in. Services never commit.

Every change of an enterprise, a site or a user is recorded in the change trail
(`app.audit.changes`) in the same transaction: who, when, the values after, and for an update
the fields it changed. `actor` is the signed-in administrator; none for the command line, which
passes `via="cli"`. A password is never recorded: setting one is a `password_reset` change
holding the user's values, never the password or its hash."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.changes import changed, record_change, row_values
from app.context import AppContext
from app.core.db import apply_patch
from app.core.keys import public_jwk, public_pem
from app.core.security import create_token, hash_password, verify_password
from app.domain.divisions import city_of, province_of
from app.domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from app.domain.values import Role
from app.eventstore.store import EventStore
from app.identity import schemas
from app.identity.models import Enterprise, Site, User, UserSite
from app.identity.permissions import Principal

# ---------------------------------------------------------------- principals and tokens


NO_ACCOUNT = "this account does not exist or is disabled"


def principal_for(*, session: Session, user_id: UUID) -> Principal:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated(NO_ACCOUNT)
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        enterprise_id=user.enterprise_id,
        site_ids=frozenset(_site_ids(session, user)),
    )


def _site_ids(session: Session, user: User) -> list[UUID]:
    if user.all_sites:
        return list(session.exec(select(Site.id).where(Site.enterprise_id == user.enterprise_id)))
    return list(session.exec(select(UserSite.site_id).where(UserSite.user_id == user.id)))


def authenticate(
    *, session: Session, ctx: AppContext, username: str, password: str, client: str | None = None
) -> User:
    """The user whose password this is, or 401; throttled per username and client (429)."""
    throttle = ctx.login_throttle
    keys = throttle.keys(username=username, client=client)
    throttle.check(keys)
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if not verify_password(password, user.password_hash if user else None) or user is None:
        throttle.failed(keys)
        raise Unauthenticated("wrong username or password")
    throttle.succeeded(username)
    return user


def issue_token(
    *,
    session: Session,
    ctx: AppContext,
    username: str,
    password: str,
    client: str | None = None,
) -> schemas.Token:
    user = authenticate(
        session=session, ctx=ctx, username=username, password=password, client=client
    )
    if not user.is_active:
        raise Unauthenticated("this account is disabled")
    s = ctx.settings
    ttl = timedelta(minutes=s.auth.access_token_minutes)
    token = create_token(
        secret=s.effective_jwt_secret,
        subject=user.id,
        token_type="user",
        audience=s.auth.audience,
        issuer=s.auth.issuer,
        now=ctx.clock.now(),
        ttl=ttl,
        extra={"role": user.role},
    )
    return schemas.Token(
        access_token=token, expires_in=int(ttl.total_seconds()), role=Role(user.role)
    )


# ---------------------------------------------------------------- enterprises


def _record(
    session: Session,
    ctx: AppContext,
    actor: Principal | None,
    via: str | None,
    entity: str,
    entity_id: UUID,
    action: str,
    data: dict[str, Any],
) -> None:
    record_change(
        session,
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor=actor,
        at=ctx.clock.now(),
        data=data,
        via=via,
    )


def create_enterprise(
    *,
    session: Session,
    ctx: AppContext,
    cmd: schemas.EnterpriseCreate,
    actor: Principal | None = None,
    via: str | None = None,
) -> Enterprise:
    if session.exec(select(Enterprise).where(Enterprise.uscc == cmd.uscc)).first():
        raise Conflict(f"an enterprise with USCC {cmd.uscc} already exists", field="uscc")
    ent = Enterprise(id=uuid4(), created_at=ctx.clock.now(), **cmd.model_dump())
    session.add(ent)
    session.flush()
    _record(session, ctx, actor, via, "enterprise", ent.id, "created", row_values(ent))
    return ent


def list_enterprises(*, session: Session) -> list[Enterprise]:
    return list(session.exec(select(Enterprise).order_by(Enterprise.name)))


def get_enterprise(*, session: Session, enterprise_id: UUID) -> Enterprise:
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFound("enterprise not found", enterprise_id=str(enterprise_id))
    return ent


# ---------------------------------------------------------------- sites


def site_read(site: Site) -> schemas.SiteRead:
    return schemas.SiteRead(
        id=site.id,
        enterprise_id=site.enterprise_id,
        code=site.code,
        name=site.name,
        division_code=site.division_code,
        province_code=province_of(site.division_code),
        city_code=city_of(site.division_code),
        address=site.address,
        contact_name=site.contact_name,
        contact_phone=site.contact_phone,
        licensed_operator=site.licensed_operator,
        own_disposal_facility=site.own_disposal_facility,
        spot_max_days=site.spot_max_days,
        created_at=site.created_at,
    )


def create_site(
    *,
    session: Session,
    ctx: AppContext,
    cmd: schemas.SiteCreate,
    actor: Principal | None = None,
    via: str | None = None,
) -> schemas.SiteRead:
    get_enterprise(session=session, enterprise_id=cmd.enterprise_id)
    dup = session.exec(
        select(Site).where(Site.enterprise_id == cmd.enterprise_id, Site.code == cmd.code)
    ).first()
    if dup:
        raise Conflict(f"site code {cmd.code} is already used in this enterprise", field="code")
    site = Site(id=uuid4(), created_at=ctx.clock.now(), **cmd.model_dump())
    session.add(site)
    session.flush()
    EventStore(session, clock=ctx.clock, keys=ctx.keys).init_chain(site.id)
    _record(session, ctx, actor, via, "site", site.id, "created", row_values(site))
    return site_read(site)


def get_site(*, session: Session, site_id: UUID) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site not found", site_id=str(site_id))
    return site


def visible_site(*, session: Session, actor: Principal, site_id: UUID) -> schemas.SiteRead:
    """One site, scoped as `list_sites` is: outside the caller's view it is not found (404)."""
    site = get_site(session=session, site_id=site_id)
    if not (
        actor.role is Role.admin
        or site.id in actor.site_ids
        or site.enterprise_id == actor.enterprise_id
    ):
        raise NotFound("site not found", site_id=str(site_id))
    return site_read(site)


def list_sites(*, session: Session, actor: Principal) -> list[schemas.SiteRead]:
    q = select(Site).order_by(Site.code)
    if actor.role is not Role.admin:
        q = q.where(
            sa.or_(
                Site.id.in_(actor.site_ids),  # type: ignore[union-attr]
                Site.enterprise_id == actor.enterprise_id,
            )
        )
    return [site_read(s) for s in session.exec(q)]


def update_site(
    *,
    session: Session,
    ctx: AppContext,
    site_id: UUID,
    cmd: schemas.SiteUpdate,
    actor: Principal | None,
) -> schemas.SiteRead:
    site = get_site(session=session, site_id=site_id)
    before = row_values(site)
    apply_patch(site, cmd.model_dump(exclude_unset=True))
    session.add(site)
    session.flush()
    after = row_values(site)
    diff = changed(before, after)
    if diff:
        _record(session, ctx, actor, None, "site", site.id, "updated", {**after, "changed": diff})
    return site_read(site)


def site_key(*, session: Session, ctx: AppContext, site_id: UUID) -> schemas.SiteKeyRead:
    get_site(session=session, site_id=site_id)
    pub = ctx.keys.public_key(site_id)
    return schemas.SiteKeyRead(
        site_id=site_id,
        key_id=ctx.keys.key_id(site_id),
        public_key_pem=public_pem(pub),
        jwk=public_jwk(pub),
    )


# ---------------------------------------------------------------- users


def user_read(session: Session, user: User) -> schemas.UserRead:
    site_ids = [] if user.all_sites else _site_ids(session, user)
    return schemas.UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        enterprise_id=user.enterprise_id,
        all_sites=user.all_sites,
        site_ids=sorted(site_ids, key=str),
        is_active=user.is_active,
        created_at=user.created_at,
    )


def _check_sites(session: Session, enterprise_id: UUID, site_ids: list[UUID]) -> None:
    for sid in site_ids:
        site = session.get(Site, sid)
        if site is None:
            raise InvalidInput(f"site {sid} does not exist", field="site_ids")
        ent = session.get(Enterprise, enterprise_id)
        if site.enterprise_id != enterprise_id and (ent is None or ent.kind != "regulator"):
            raise InvalidInput(
                f"site {site.code} belongs to another enterprise; only regulators' auditors "
                "may be scoped to other enterprises' sites",
                field="site_ids",
            )


def _user_values(session: Session, user: User) -> dict[str, Any]:
    """The user as the trail records it: its columns (never the password hash) and the sites
    it is granted one by one."""
    granted = session.exec(select(UserSite.site_id).where(UserSite.user_id == user.id))
    return {**row_values(user), "site_ids": sorted(str(s) for s in granted)}


def create_user(
    *,
    session: Session,
    ctx: AppContext,
    cmd: schemas.UserCreate,
    actor: Principal | None = None,
    via: str | None = None,
) -> schemas.UserRead:
    username = cmd.username.lower()
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(f"username {username} is taken", field="username")
    get_enterprise(session=session, enterprise_id=cmd.enterprise_id)
    _check_sites(session, cmd.enterprise_id, cmd.site_ids)
    user = User(
        id=uuid4(),
        username=username,
        display_name=cmd.display_name,
        password_hash=hash_password(cmd.password),
        role=cmd.role.value,
        enterprise_id=cmd.enterprise_id,
        all_sites=cmd.all_sites,
        is_active=True,
        created_at=ctx.clock.now(),
    )
    session.add(user)
    session.flush()
    for sid in dict.fromkeys(cmd.site_ids):
        session.add(UserSite(user_id=user.id, site_id=sid))
    session.flush()
    _record(session, ctx, actor, via, "user", user.id, "created", _user_values(session, user))
    return user_read(session, user)


def get_user(*, session: Session, user_id: UUID) -> schemas.UserRead:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found", user_id=str(user_id))
    return user_read(session, user)


def list_users(*, session: Session) -> list[schemas.UserRead]:
    return [user_read(session, u) for u in session.exec(select(User).order_by(User.username))]


def update_user(
    *,
    session: Session,
    ctx: AppContext,
    user_id: UUID,
    cmd: schemas.UserUpdate,
    actor: Principal,
) -> schemas.UserRead:
    """Change a user: one `updated` change naming the fields changed (none when nothing did),
    and a `password_reset` change when a password is set."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found", user_id=str(user_id))
    if user.id == actor.user_id and (
        cmd.is_active is False or (cmd.role and cmd.role is not Role.admin)
    ):
        raise Conflict("you cannot disable or demote your own account")
    before = _user_values(session, user)
    if cmd.display_name is not None:
        user.display_name = cmd.display_name
    if cmd.password is not None:
        user.password_hash = hash_password(cmd.password)
    if cmd.role is not None:
        user.role = cmd.role.value
    if cmd.all_sites is not None:
        user.all_sites = cmd.all_sites
    if cmd.is_active is not None:
        user.is_active = cmd.is_active
    if cmd.site_ids is not None:
        _check_sites(session, user.enterprise_id, cmd.site_ids)
        session.execute(sa.delete(UserSite).where(UserSite.user_id == user.id))  # type: ignore[arg-type]
        for sid in dict.fromkeys(cmd.site_ids):
            session.add(UserSite(user_id=user.id, site_id=sid))
    session.add(user)
    session.flush()
    after = _user_values(session, user)
    diff = changed(before, after)
    if diff:
        _record(session, ctx, actor, None, "user", user.id, "updated", {**after, "changed": diff})
    if cmd.password is not None:
        _record(session, ctx, actor, None, "user", user.id, "password_reset", after)
    return user_read(session, user)
