"""Request and response models for enterprises, sites, users and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator

from app.core.schemas import Schema
from app.domain.divisions import division_problem
from app.domain.uscc import uscc_problem
from app.domain.values import Role

EnterpriseKind = Literal["plant", "handler", "carrier", "regulator"]


def _uscc(v: str) -> str:
    v = v.strip().upper()
    problem = uscc_problem(v)
    if problem:
        raise ValueError(f"not a valid unified social credit code (GB 32100): {problem}")
    return v


def _division(v: str) -> str:
    problem = division_problem(v)
    if problem:
        raise ValueError(problem)
    return v


class EnterpriseCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    uscc: str = Field(description="统一社会信用代码, 18 characters with GB 32100 check character")
    kind: EnterpriseKind
    division_code: str = Field(description="GB/T 2260 6-digit division code of the domicile")
    address: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)

    _v_uscc = field_validator("uscc")(_uscc)
    _v_div = field_validator("division_code")(_division)


class EnterpriseRead(Schema):
    id: UUID
    name: str
    uscc: str
    kind: str
    division_code: str
    address: str | None
    contact_name: str | None
    contact_phone: str | None
    created_at: datetime


class SiteCreate(Schema):
    enterprise_id: UUID
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_]*$")
    name: str = Field(min_length=1, max_length=200)
    division_code: str = Field(description="GB/T 2260 6-digit code: province, city, county")
    address: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)

    _v_div = field_validator("division_code")(_division)


class SiteUpdate(Schema):
    """The site profile the storage rules read; only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    licensed_operator: bool | None = Field(
        default=None, description="holds an HW operating licence: storage ≤ 1 year blocks (R32)"
    )
    own_disposal_facility: bool | None = Field(
        default=None,
        description="runs its own utilisation or disposal facility: a key-supervision unit "
        "(HJ 1259 4.2.1), declaring monthly",
    )
    spot_max_days: int | None = Field(
        default=None, ge=1, le=365, description="days waste may stay at a 贮存点 (R34)"
    )


class SiteRead(Schema):
    id: UUID
    enterprise_id: UUID
    code: str
    name: str
    division_code: str
    province_code: str
    city_code: str
    address: str | None
    contact_name: str | None
    contact_phone: str | None
    licensed_operator: bool = False
    own_disposal_facility: bool = False
    spot_max_days: int | None = None
    created_at: datetime


class SiteKeyRead(Schema):
    site_id: UUID
    key_id: str
    algorithm: Literal["EdDSA"] = "EdDSA"
    public_key_pem: str
    jwk: dict[str, str]


class UserCreate(Schema):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=200)
    role: Role
    enterprise_id: UUID
    all_sites: bool = False
    site_ids: list[UUID] = []


class UserUpdate(Schema):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = Field(default=None, min_length=10, max_length=200)
    role: Role | None = None
    all_sites: bool | None = None
    site_ids: list[UUID] | None = None
    is_active: bool | None = None


class UserRead(Schema):
    id: UUID
    username: str
    display_name: str
    role: Role
    enterprise_id: UUID
    all_sites: bool
    site_ids: list[UUID]
    is_active: bool
    created_at: datetime


class Token(Schema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: Role
