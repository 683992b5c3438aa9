"""Enterprises (organisations), their sites, users and the sites a user may act on."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class Enterprise(SQLModel, table=True):
    __tablename__ = "enterprise"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False, unique=True))
    # plant (generator), handler (licensed receiver), carrier, regulator
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    division_code: str = Field(sa_column=sa.Column(sa.String(6), nullable=False))
    address: str | None = Field(default=None, sa_column=sa.Column(sa.String(300)))
    contact_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    contact_phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(40)))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class Site(SQLModel, table=True):
    """A production site: its own event chain, signing key and HJ 1259 management plan."""

    __tablename__ = "site"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "code"),)

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    enterprise_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("enterprise.id"), nullable=False, index=True)
    )
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    division_code: str = Field(sa_column=sa.Column(sa.String(6), nullable=False))
    address: str | None = Field(default=None, sa_column=sa.Column(sa.String(300)))
    contact_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    contact_phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(40)))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    # The storage rules' site profile: a licence holder stores ≤ 1 year (固废法 Art. 81 ¶3);
    # how long waste may stay at a 贮存点 (GB 18597 8.3.5 sets no national figure).
    licensed_operator: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # An own utilisation/disposal facility: with the licence, what makes a site a key-supervision
    # unit whatever its tonnage (HJ 1259 §4.2.1).
    own_disposal_facility: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    spot_max_days: int | None = Field(default=None, sa_column=sa.Column(sa.Integer()))


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    username: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    display_name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    password_hash: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    role: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    enterprise_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("enterprise.id"), nullable=False, index=True)
    )
    # True: every site of the enterprise, present and future; False: the sites in user_site.
    all_sites: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    is_active: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class UserSite(SQLModel, table=True):
    __tablename__ = "user_site"

    user_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("app_user.id"), primary_key=True)
    )
    site_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("site.id"), primary_key=True)
    )
