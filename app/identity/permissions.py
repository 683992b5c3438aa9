"""Who may do what: permissions per role, and the site scope of a signed-in principal."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from app.domain.errors import NotFound, PermissionDenied
from app.domain.values import Role


class Permission(StrEnum):
    lot_read = "lot:read"
    lot_write = "lot:write"  # generate, label, weigh, store, move, inspect, repack
    lot_correct = "lot:correct"
    zone_read = "zone:read"
    zone_admin = "zone:admin"
    site_read = "site:read"
    site_admin = "site:admin"
    user_admin = "user:admin"
    audit_read = "audit:read"
    audit_sign = "audit:sign"
    catalogue_read = "catalogue:read"
    manifest_read = "manifest:read"
    manifest_write = "manifest:write"  # consignor: draft, submit, load, dispatch, close, cancel
    manifest_carry = "manifest:carry"  # carrier: load, sign the handovers
    manifest_receive = "manifest:receive"  # handler: sign, weigh, confirm, dispose
    party_read = "party:read"
    party_admin = "party:admin"  # licences, vehicles, crew, contracts, approvals, plans
    export_read = "export:read"  # ledger, declaration, log export
    declaration_file = "declaration:file"  # record that a periodic declaration was filed
    scorecard_read = "scorecard:read"  # no-waste factory scorecard, ratios, evidence
    scorecard_write = "scorecard:write"  # period inputs, self-assessment, evidence


_READ = {
    Permission.lot_read,
    Permission.zone_read,
    Permission.site_read,
    Permission.audit_read,
    Permission.catalogue_read,
    Permission.manifest_read,
    Permission.party_read,
    Permission.export_read,
    Permission.scorecard_read,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.ehs_manager: frozenset(
        _READ
        | {
            Permission.lot_write,
            Permission.lot_correct,
            Permission.zone_admin,
            Permission.audit_sign,
            Permission.manifest_write,
            Permission.party_admin,
            Permission.scorecard_write,
            Permission.declaration_file,
        }
    ),
    Role.operator: frozenset(
        {
            Permission.lot_read,
            Permission.lot_write,
            Permission.zone_read,
            Permission.site_read,
            Permission.catalogue_read,
            Permission.manifest_read,
            Permission.manifest_write,
            Permission.party_read,
        }
    ),
    # Handlers and transporters act on manifests naming their organisation (`manifest_party`).
    Role.handler: frozenset(
        {
            Permission.catalogue_read,
            Permission.site_read,
            Permission.manifest_read,
            Permission.manifest_receive,
            Permission.party_read,
        }
    ),
    Role.transporter: frozenset(
        {
            Permission.catalogue_read,
            Permission.site_read,
            Permission.manifest_read,
            Permission.manifest_carry,
            Permission.party_read,
        }
    ),
    Role.auditor: frozenset(_READ),
}


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    username: str
    role: Role
    enterprise_id: UUID
    site_ids: frozenset[UUID]
    device_id: UUID | None = None

    def has(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.has(permission):
            raise PermissionDenied(
                f"role {self.role.value} may not {permission.value}",
                role=self.role.value,
                permission=permission.value,
            )

    def can_access_site(self, site_id: UUID) -> bool:
        return site_id in self.site_ids

    def require_site(self, site_id: UUID, *, hide: bool = True) -> None:
        """Object-level scope. Outside the scope a resource is reported as not found (404), so
        its existence does not leak across sites, unless `hide` is False (403)."""
        if site_id in self.site_ids:
            return
        if hide:
            raise NotFound("not found")
        raise PermissionDenied("this site is outside your scope", site_id=str(site_id))


# ---------------------------------------------------------------- manifest portal scope

PORTAL_ROLES = {Role.handler: "handler", Role.transporter: "carrier"}


def manifest_party(
    actor: Principal,
    *,
    site_id: UUID,
    carrier_enterprise_id: UUID,
    handler_enterprise_id: UUID,
    submitted: bool,
) -> str | None:
    """The one policy for who sees a manifest, and as which party.

    * handler and transporter users: only manifests naming their organisation as handler
      (接受人) or carrier (承运人) — whatever the site — once submitted (a draft is the
      consignor's work in progress);
    * plant users (admin, EHS manager, operator): manifests of the sites in their scope, as the
      consignor (移出人);
    * auditors (regulator): manifests of the sites in their scope, read-only.

    Returns "consignor", "carrier", "handler", "regulator", or None (outside the scope: the
    manifest is reported as not found)."""
    portal = PORTAL_ROLES.get(actor.role)
    if portal is not None and not submitted:
        return None
    if portal == "handler":
        return "handler" if actor.enterprise_id == handler_enterprise_id else None
    if portal == "carrier":
        return "carrier" if actor.enterprise_id == carrier_enterprise_id else None
    if site_id not in actor.site_ids:
        return None
    return "regulator" if actor.role is Role.auditor else "consignor"
