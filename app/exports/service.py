"""Regulator exports: the manifest PDF, the HJ 1259 ledger (XLSX / CSV), the periodic
declaration, and the log as JSON Lines. Maps projections onto the DTOs of `reports/`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID, uuid5

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.changes import TRAIL_SCHEME
from app.context import AppContext
from app.core.db import canonical_json
from app.core.keys import public_jwk, public_pem
from app.domain.declarations import (
    CLASS_ZH,
    CYCLE,
    DeclarationFiled,
    check_cycle,
    classify,
    parse_period,
    recent_periods,
)
from app.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.domain.manifest import HandoverStep, ManifestState, Party
from app.domain.rules.base import Step
from app.domain.rules.registry import evaluate
from app.domain.rules.reporting import ReportingSituation
from app.domain.rules.transfer import load_transfer_data
from app.domain.values import CHINA_TZ as CHINA
from app.domain.values import CONTAINER_ZH, FIRST_YEAR, LAST_YEAR, PHYSICAL_FORM_ZH, kg_to_t
from app.eventstore import hashing
from app.eventstore.models import ChainCheckpoint, StoredEvent
from app.eventstore.store import EventStore
from app.exports import schemas
from app.identity.models import Enterprise, Site, User
from app.identity.permissions import Permission, Principal
from app.manifests import service as manifest_service
from app.parties import service as parties
from app.parties.models import (
    CrewRow,
    HandlerLicenceRow,
    PartyChange,
    TransferApprovalRow,
    VehicleRow,
)
from app.projections.declarations import STREAM as DECLARATION_STREAM
from app.projections.declarations import DeclarationFilingRow
from app.projections.lots import LotRow, StorageInRow, managed_hazardous
from app.projections.manifests import ManifestLotRow, ManifestRow
from app.projections.zones import FacilityRow
from app.services.recorder import Recorder
from reports.ledger import (
    GENERATION,
    OFFSITE,
    OWN,
    STORAGE_IN,
    STORAGE_OUT,
    Sheet,
    batch_code,
    csv_lines,
    write_xlsx,
)
from reports.manifest_pdf import DocLine, DocLot, DocSignature, ManifestDoc, render_manifest

STATUS_ZH = {
    "draft": "草稿",
    "submitted": "已提交",
    "loaded": "已装车",
    "in_transit": "运输中",
    "received": "已接收",
    "disposed": "已利用/处置",
    "closed": "已办结",
    "cancelled": "已作废",
}
OUTCOME_ZH = {"accepted": "接受", "partly_accepted": "部分接受", "rejected": "拒收"}
PARTY_ZH = {Party.consignor: "移出人", Party.carrier: "承运人", Party.handler: "接受人"}
STEP_ZH = {HandoverStep.dispatch: "移出交接", HandoverStep.receipt: "接收交接"}


def cst(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if at else ""


def _t(kg: Decimal) -> str:
    return f"{kg_to_t(kg):.3f}"


def _track_line(s: ManifestState, lic: HandlerLicenceRow | None) -> str:
    """运输轨迹 on the form: how many fixes, over what time, and where the last one lies."""
    t = s.track
    if t is None:
        return ""
    text = f"{t.points} 个定位点（{cst(t.first.at)} 至 {cst(t.last.at)}）"
    metres = parties.licence_view(lic).facility_distance_m(t.last.lat, t.last.lon) if lic else None
    if metres is not None:
        text += f"，终点距接受人设施 {metres:,.0f} m"
    return text + (f"，终端 {'、'.join(t.terminal_ids)}" if t.terminal_ids else "")


def manifest_doc(session: Session, s: ManifestState, now: datetime) -> ManifestDoc:
    site = session.get(Site, s.site_id)
    consignor = session.get(Enterprise, s.consignor_enterprise_id)
    handler = session.get(Enterprise, s.handler_enterprise_id)
    carrier = session.get(Enterprise, s.carrier_enterprise_id)
    lic = session.get(HandlerLicenceRow, s.handler_licence_id)
    approval = (
        session.get(TransferApprovalRow, s.transfer_approval_id) if s.transfer_approval_id else None
    )
    vehicle = session.get(VehicleRow, s.vehicle_id) if s.vehicle_id else None
    driver = session.get(CrewRow, s.driver_id) if s.driver_id else None
    escort = session.get(CrewRow, s.escort_id) if s.escort_id else None
    day = s.planned_date
    cl = parties.carrier_licence_for(session, s.carrier_enterprise_id, day)
    lines = []
    for ln in s.lines:
        lots = [lot for lot in s.lots if lot.line_no == ln.line_no]
        lines.append(
            DocLine(
                no=ln.line_no,
                name=ln.name,
                category=ln.category,
                code=ln.waste_code,
                hazards="/".join(ln.hazard_characteristics),
                form=PHYSICAL_FORM_ZH.get(ln.physical_form, ln.physical_form),
                harmful=ln.harmful_components or "",
                packaging=ln.packaging,
                count=len(lots),
                weight_t=_t(sum((lot.weight_kg for lot in lots), Decimal(0))),
                method=ln.planned_method,
                dg=" / ".join(x for x in (ln.un_number, ln.dg_class) if x),
            )
        )
    accepted = [lot for lot in s.lots if lot.accepted_kg is not None]
    outcomes = sorted({OUTCOME_ZH[lot.outcome.value] for lot in s.lots if lot.outcome})
    disc = ""
    if s.discrepancy is not None:
        d = s.discrepancy
        disc = f"{len(d.lot_ids)} 件不符（{d.notes or '重量/名称/形态/包装'}）；" + (
            f"已处理：{OUTCOME_ZH.get(d.decision or '', d.decision)}，"
            f"告知移出人 {cst(d.consignor_notified_at)}，报告编号 {d.eeb_report_ref}"
            if d.resolved_at
            else "待处理"
        )
    corrections = [
        f"{PARTY_ZH[c.requested_by]}申请更正 {', '.join(c.changes)}：原值 {c.original} → "
        f"新值 {c.changes}（{c.reason}）— "
        + {"pending": "待确认", "approved": "已确认", "rejected": "已驳回"}[c.status]
        + (f"（{PARTY_ZH[c.decided_by]}）" if c.decided_by else "")
        for c in s.corrections
    ]
    paper = s.paper
    return ManifestDoc(
        paper=f"{paper.paper_number}（纸质转移完成于 {paper.completed_on}；{paper.reason}）"
        if paper
        else "",
        track=_track_line(s, lic),
        number=s.number,
        status=STATUS_ZH[s.status.value],
        approval_no=approval.approval_no if approval else "",
        consignor_name=consignor.name if consignor else "",
        consignor_uscc=consignor.uscc if consignor else "",
        consignor_address=(site.address or "") if site else "",
        consignor_contact=(site.contact_name or "") if site else "",
        consignor_phone=s.contact_phone or "",
        emergency_measures=s.emergency_measures,
        lines=lines,
        total_t=_t(s.total_kg),
        carrier_name=carrier.name if carrier else "",
        carrier_licence_no=cl.licence_no if cl else "",
        vehicle_plate=vehicle.plate if vehicle else "",
        vehicle_cert_no=vehicle.transport_cert_no if vehicle else "",
        driver=f"{driver.name} / {driver.qualification_no}" if driver else "",
        escort=f"{escort.name} / {escort.qualification_no}" if escort else "",
        start=(site.address or site.name) if site else "",
        route=s.route or "",
        end=(lic.facility_address or (handler.address if handler else "") or "") if lic else "",
        waybill_no=s.dg_waybill_no or "",
        departed_at=cst(s.dispatched_at),
        arrived_at=cst(s.received_at),
        handler_name=handler.name if handler else "",
        handler_licence_no=lic.licence_no if lic else "",
        received_at=cst(s.received_at),
        accepted_t=_t(sum((lot.accepted_kg or Decimal(0) for lot in accepted), Decimal(0)))
        if accepted
        else "",
        acceptance="、".join(outcomes),
        discrepancy=disc,
        methods="、".join(sorted({lot.method_code for lot in s.lots if lot.method_code})),
        confirmed_at=cst(s.confirmed_at),
        disposed_at=cst(s.disposed_at),
        signatures=[
            DocSignature(
                party=PARTY_ZH[sig.party],
                step=STEP_ZH[sig.step],
                name=sig.signer_name,
                method="登录签署" if sig.method.value == "session" else "一次性验证码",
                at=cst(sig.signed_at),
            )
            for sig in s.signatures
        ],
        lots=[
            DocLot(
                line_no=lot.line_no,
                digital_id=lot.digital_id or str(lot.lot_id),
                name=lot.name,
                weight_kg=f"{lot.weight_kg}",
                received_kg=f"{lot.received_kg}" if lot.received_kg is not None else "",
                outcome=OUTCOME_ZH[lot.outcome.value] if lot.outcome else "",
                method=lot.method_code or "",
                completed_on=str(lot.completed_on or ""),
            )
            for lot in s.lots
        ],
        corrections=corrections,
        generated_at=cst(now),
    )


def manifest_pdf(
    *, session: Session, ctx: AppContext, actor: Principal, manifest_id: UUID, base_url: str
) -> tuple[bytes, str]:
    """The manifest PDF; its roadside-check QR code links under `base_url` unless
    `PUBLIC_URL` is configured."""
    s = manifest_service.manifest_state(session=session, actor=actor, manifest_id=manifest_id)
    doc = replace(
        manifest_doc(session, s, datetime.now(CHINA)),
        check_url=manifest_service.roadside_url(ctx, base_url, s.number, s.manifest_id),
    )
    return render_manifest(doc), f"manifest-{s.number}.pdf"


# ---------------------------------------------------------------- log export (JSON Lines)

E = StoredEvent.__table__  # type: ignore[attr-defined]
C = ChainCheckpoint.__table__  # type: ignore[attr-defined]
_LOG_COLUMNS = [
    E.c.event_id,
    E.c.site_id,
    E.c.chain_position,
    E.c.stream_type,
    E.c.stream_id,
    E.c.version,
    E.c.type,
    E.c.schema_version,
    E.c.occurred_at,
    E.c.recorded_at,
    E.c.actor_id,
    E.c.device_id,
    E.c.rule_set_version,
    sa.cast(E.c.findings, sa.Text).label("findings"),
    sa.cast(E.c.payload, sa.Text).label("payload"),
    E.c.prev_hash,
    E.c.hash,
]


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


def require_export_site(actor: Principal, site_id: UUID) -> None:
    actor.require(Permission.export_read)
    actor.require_site(site_id)


LOG_EXPORT_FORMAT = "hazchain-log-export-v3"
# The parties' credentials every consignor relies on: in every site's export.
PUBLIC_PARTIES = ("handler_licence", "carrier_licence", "vehicle", "crew")
LOG_EXPORT_SEAL = "log-export-seal"  # the end record's JWS `typ`


def log_lines(
    *, session: Session, ctx: AppContext, site_id: UUID, batch: int = 5000
) -> Iterator[str]:
    """The site's whole chain as JSON Lines: header, events (hash material exactly as stored:
    `findings` / `payload` are the stored JSON text), signed checkpoints, the master-data
    changes its transfers rest on (`change_lines`), and the end record sealed with the site's
    key (its count, head hash, the SHA-256 of the header line and of the change lines, signed at
    export: a file cut short or rewritten after the last checkpoint, a header changed or a
    change line removed, added or altered no longer verifies)."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site not found", site_id=str(site_id))
    pub = ctx.keys.public_key(site_id)
    exported_at = hashing.ts(ctx.clock.now())
    header = canonical_json(
        {
            "record": "header",
            "format": LOG_EXPORT_FORMAT,
            "site_id": str(site_id),
            "site_code": site.code,
            "site_name": site.name,
            "exported_at": exported_at,
            "hash_scheme": hashing.SCHEME,
            "hash_fields": list(hashing.HASHED_FIELDS),
            "change_hash_scheme": TRAIL_SCHEME,
            "public_key_pem": public_pem(pub),
            "public_jwk": public_jwk(pub),
            "verify": "python verify_export.py FILE --key site.pem (or hazchain verify-export)",
        }
    )
    yield header + "\n"
    conn = session.connection()
    last, count, head = 0, 0, hashing.GENESIS_HASH
    while True:
        rows = conn.execute(
            sa.select(*_LOG_COLUMNS)
            .where(E.c.site_id == site_id, E.c.chain_position > last)
            .order_by(E.c.chain_position)
            .limit(batch)
        ).all()
        if not rows:
            break
        out = []
        for r in rows:
            out.append(
                canonical_json(
                    {
                        "record": "event",
                        "event_id": str(r.event_id),
                        "site_id": str(r.site_id),
                        "chain_position": r.chain_position,
                        "stream_type": r.stream_type,
                        "stream_id": str(r.stream_id),
                        "version": r.version,
                        "type": r.type,
                        "schema_version": r.schema_version,
                        "occurred_at": hashing.ts(_aware(r.occurred_at)),
                        "recorded_at": hashing.ts(_aware(r.recorded_at)),
                        "actor_id": _s(r.actor_id),
                        "device_id": _s(r.device_id),
                        "rule_set_version": r.rule_set_version,
                        "findings": r.findings,
                        "payload": r.payload,
                        "prev_hash": r.prev_hash,
                        "hash": r.hash,
                    }
                )
                + "\n"
            )
            last = r.chain_position
            head = r.hash
        count += len(rows)
        yield "".join(out)
    for cp in conn.execute(
        sa.select(C.c.chain_position, C.c.hash, C.c.key_id, C.c.jws)
        .where(C.c.site_id == site_id, C.c.chain_position <= last)
        .order_by(C.c.chain_position)
    ):
        yield (
            canonical_json(
                {
                    "record": "checkpoint",
                    "chain_position": cp.chain_position,
                    "hash": cp.hash,
                    "key_id": cp.key_id,
                    "jws": cp.jws,
                }
            )
            + "\n"
        )
    changes, digest = 0, hashlib.sha256()
    for line in change_lines(session, site):
        changes += 1
        digest.update(line.encode("utf-8"))
        yield line
    end = {
        "events": count,
        "head_position": last,
        "head_hash": head,
        "changes": changes,
        "changes_sha256": digest.hexdigest(),
        "exported_at": exported_at,
        # the header line's exact bytes (without its newline): the seal signs the site's name,
        # code and public key as written
        "header_sha256": hashlib.sha256(header.encode("utf-8")).hexdigest(),
    }
    seal = ctx.keys.sign(
        site_id,
        {
            "iss": "hazchain",
            "sub": str(site_id),
            "typ": LOG_EXPORT_SEAL,
            "format": LOG_EXPORT_FORMAT,
            "site_id": str(site_id),
            **end,
        },
    )
    yield canonical_json({"record": "end", **end, "jws": seal}) + "\n"


def change_lines(session: Session, site: Site) -> Iterator[str]:
    """The change trail's rows (`party_change`, in trail order) of the master data the site's
    transfers rest on, one JSON line each with the fields its hash covers and that hash: the
    handlers' and carriers' licences, vehicles and crew, and the site's enterprise's contracts
    and transfer approvals and the site's own management plans. Other enterprises' and the
    identity rows (users, devices) stay out; the trail's chain skips over them, so each row is
    checked against its own hash and the lines as a whole against the export's seal."""
    t = PartyChange.__table__  # type: ignore[attr-defined]
    own = {"contract": "consignor_enterprise_id", "approval": "consignor_enterprise_id"}
    mine = {"consignor_enterprise_id": str(site.enterprise_id), "site_id": str(site.id)}
    rows = session.connection().execute(
        sa.select(t)
        .where(t.c.entity.in_([*PUBLIC_PARTIES, *own, "plan"]))
        .order_by(t.c.id)
        .execution_options(yield_per=2000)
    )
    for r in rows:
        key = own.get(r.entity, "site_id" if r.entity == "plan" else None)
        if key is not None and str(r.data.get(key)) != mine[key]:
            continue
        yield (
            canonical_json(
                {
                    "record": "change",
                    "id": r.id,
                    "entity": r.entity,
                    "entity_id": str(r.entity_id),
                    "action": r.action,
                    "actor_id": _s(r.actor_id),
                    "at": hashing.ts(_aware(r.at)),
                    "data": r.data,
                    "prev_hash": r.prev_hash,
                    "hash": r.hash,
                }
            )
            + "\n"
        )


def _aware(v: datetime | str) -> datetime:
    if isinstance(v, str):  # SQLite text through a raw cast
        v = datetime.fromisoformat(v)
    return v if v.tzinfo else v.replace(tzinfo=UTC)


# ---------------------------------------------------------------- HJ 1259 ledger


def _cday(dialect: str, col: Any) -> Any:
    """The China-time calendar day of a timestamp column as 'YYYYMMDD' (in SQL)."""
    if dialect == "postgresql":
        return sa.func.to_char(
            sa.func.timezone("UTC", col) + sa.text("interval '8 hours'"), "YYYYMMDD"
        )
    return sa.func.strftime("%Y%m%d", col, "+8 hours")


def _serial(day: Any, *order: Any) -> Any:
    return sa.func.row_number().over(partition_by=day, order_by=list(order))


def _stream(session: Session, q: Any, per: int = 2000) -> Iterator[Any]:
    """Rows from a server-side cursor (PostgreSQL) or SQLite's lazy cursor, `per` at a time.

    PostgreSQL plans cursors for the first 10 % of rows by default (fast-start nested loops),
    which is quadratic on a whole-year ledger: the export reads every row, so plan for all."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
    yield from conn.execute(q.execution_options(stream_results=True, yield_per=per))


def _gen_codes_cte(dialect: str, site_ids: list[UUID]) -> Any:
    """Per lot of the sites: its generation batch code (serial per China day)."""
    L = LotRow.__table__  # type: ignore[attr-defined]
    gday = _cday(dialect, L.c.generated_at)
    return (
        sa.select(
            L.c.lot_id,
            gday.label("gday"),
            _serial(gday, L.c.generated_at, L.c.lot_id).label("gseq"),
        )
        .where(L.c.site_id.in_(site_ids))
        .cte("lotcodes")
        # SQLite would otherwise recompute the windows per lookup; PostgreSQL 12+ keeps a
        # CTE with window functions as a unit anyway and plans joins on it by statistics.
        .prefix_with("MATERIALIZED", dialect="sqlite")
    )


def _entry_codes_cte(dialect: str, site_ids: list[UUID], spans: bool = False) -> Any:
    """Per storage entry of the sites (`rm_storage_in`: a lot returned and stored again has
    two): its storage-in batch code (serial per China day over entries). With `spans`, also
    the times of the lot's entries before and after it, so a storage-out finds the one it left
    from."""
    S = StorageInRow.__table__  # type: ignore[attr-defined]
    iday = _cday(dialect, S.c.entered_at)
    cols = [
        S.c.lot_id,
        S.c.seq,
        S.c.entered_at,
        S.c.zone_id,
        S.c.facility_id,
        S.c.weight_kg,
        iday.label("iday"),
        _serial(iday, S.c.entered_at, S.c.lot_id, S.c.seq).label("iseq"),
    ]
    if spans:
        by_lot = {"partition_by": S.c.lot_id, "order_by": [S.c.entered_at, S.c.seq]}
        cols += [
            sa.func.lag(S.c.entered_at).over(**by_lot).label("prev_at"),
            sa.func.lead(S.c.entered_at).over(**by_lot).label("next_at"),
        ]
    return (
        sa.select(*cols)
        .where(S.c.site_id.in_(site_ids))
        .cte("entrycodes")
        .prefix_with("MATERIALIZED", dialect="sqlite")
    )


def _code(prefix: str, day: str | None, seq: int | None) -> str:
    return batch_code(prefix, day, int(seq)) if day and seq else ""


def _local(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def _tonnes(kg: Any) -> float:
    return float((Decimal(kg) / 1000).quantize(Decimal("0.000001"))) if kg is not None else 0.0


FACILITY_ZH = {
    "storage_warehouse": "贮存库",
    "storage_yard": "贮存场",
    "storage_pool": "贮存池",
    "tank_farm": "贮存罐区",
    "storage_spot": "贮存点",
}


def ledger_sheets(
    *, session: Session, site_ids: list[UUID], start: datetime, end: datetime
) -> list[Sheet]:
    """The five HJ 1259 ledger sheets for lots of `site_ids` in [start, end), each a lazy
    stream of rows straight from the database."""
    dialect = session.get_bind().dialect.name
    L = LotRow.__table__  # type: ignore[attr-defined]
    F = FacilityRow.__table__  # type: ignore[attr-defined]
    ML = ManifestLotRow.__table__  # type: ignore[attr-defined]
    M = ManifestRow.__table__  # type: ignore[attr-defined]
    U = User.__table__  # type: ignore[attr-defined]
    codes = _gen_codes_cte(dialect, site_ids)
    gen_event = E.alias("gen_event")

    def generation() -> Iterator[list[Any]]:
        q = (
            sa.select(
                codes.c.gday,
                codes.c.gseq,
                L.c.generated_at,
                L.c.name,
                L.c.category,
                L.c.waste_code,
                L.c.weight_kg,
                L.c.digital_id,
                L.c.container_code,
                L.c.container_type,
                L.c.status,
                L.c.zone_id,
                U.c.display_name,
                sa.cast(gen_event.c.payload, sa.Text).label("payload"),
            )
            .join(codes, codes.c.lot_id == L.c.lot_id)
            .outerjoin(
                gen_event, sa.and_(gen_event.c.stream_id == L.c.lot_id, gen_event.c.version == 1)
            )
            .outerjoin(U, U.c.id == gen_event.c.actor_id)
            .where(
                L.c.site_id.in_(site_ids),
                managed_hazardous(),  # not the exempt (豁免管理清单 #24, R61)
                L.c.generated_at >= start,
                L.c.generated_at < end,
            )
            .order_by(L.c.generated_at, L.c.lot_id)
        )
        for r in _stream(session, q):
            source = ""
            if r.payload and '"source":"' in r.payload:
                source = r.payload.split('"source":"', 1)[1].split('"', 1)[0]
            yield [
                _code("HWCS", r.gday, r.gseq),
                _local(r.generated_at),
                r.name,
                r.category,
                r.waste_code,
                _tonnes(r.weight_kg),
                "t",
                r.digital_id or r.container_code or "",
                CONTAINER_ZH.get(r.container_type, r.container_type),
                1,
                source,
                r.display_name or "",
                _destination(r.status),
            ]

    def storage_in() -> Iterator[list[Any]]:
        # every entry into storage in the period, in the facility its zone was in then: a lot
        # returned and stored again has a row per entry, and a later entry rewrites none
        entries = _entry_codes_cte(dialect, site_ids)
        q = (
            sa.select(
                codes.c.gday,
                codes.c.gseq,
                entries.c.iday,
                entries.c.iseq,
                entries.c.entered_at,
                entries.c.weight_kg,
                L.c.name,
                L.c.category,
                L.c.waste_code,
                L.c.digital_id,
                L.c.container_type,
                F.c.code.label("fcode"),
                F.c.type.label("ftype"),
            )
            .select_from(entries)
            .join(L, L.c.lot_id == entries.c.lot_id)
            .join(codes, codes.c.lot_id == entries.c.lot_id)
            .outerjoin(F, F.c.facility_id == entries.c.facility_id)
            .where(
                L.c.kind == "hazardous",
                entries.c.entered_at >= start,
                entries.c.entered_at < end,
            )
            .order_by(entries.c.entered_at, entries.c.lot_id, entries.c.seq)
        )
        for r in _stream(session, q):
            yield [
                _code("HWRK", r.iday, r.iseq),
                _local(r.entered_at),
                r.digital_id or "",
                CONTAINER_ZH.get(r.container_type, r.container_type),
                1,
                r.name,
                r.category,
                r.waste_code,
                _tonnes(r.weight_kg),
                "t",
                r.fcode or "",
                FACILITY_ZH.get(r.ftype or "", r.ftype or ""),
                "",
                "",
                _code("HWCS", r.gday, r.gseq),
            ]

    H = Enterprise.__table__.alias("handler")  # type: ignore[attr-defined]
    LIC = HandlerLicenceRow.__table__  # type: ignore[attr-defined]

    def _out_query(*, storage_in: bool) -> Any:
        """The period's dispatched manifest lots, with the code of the record before each: its
        storage-in (storage-out sheet) or its generation (off-site sheet)."""
        # The storage-out serial is a window over this query's own rows: the period is whole
        # China days, so every row of a day is here and the serial equals the day's.
        oday = _cday(dialect, ML.c.dispatched_at)
        q = sa.select(
            oday.label("oday"),
            _serial(oday, ML.c.dispatched_at, ML.c.lot_id).label("oseq"),
            ML.c.dispatched_at,
            ML.c.weight_kg,
            ML.c.planned_method,
            ML.c.method_code,
            ML.c.outcome,
            ML.c.accepted_kg,
            ML.c.returned,
            ML.c.completed_on,
            L.c.name,
            L.c.category,
            L.c.waste_code,
            L.c.digital_id,
            L.c.container_type,
            M.c.number,
            H.c.name.label("handler_name"),
            LIC.c.licence_no,
            F.c.code.label("fcode"),
            F.c.type.label("ftype"),
        ).select_from(ML)
        if storage_in:
            # the entry the lot left from (a lot returned and stored again has two): its latest
            # at or before the dispatch, or its first should a backdated dispatch come before
            # every entry. A lot's spans do not overlap, so one per row, and every manifest lot
            # has one (only a stored lot is allocated). Joined inner, the CTE leads and the
            # manifest lots are looked up by index: joined outer, SQLite scanned it per row.
            entries = _entry_codes_cte(dialect, site_ids, spans=True)
            d = ML.c.dispatched_at
            q = q.add_columns(entries.c.iday, entries.c.iseq).join(
                entries,
                sa.and_(
                    entries.c.lot_id == ML.c.lot_id,
                    sa.or_(entries.c.entered_at <= d, entries.c.prev_at.is_(None)),
                    sa.or_(entries.c.next_at.is_(None), entries.c.next_at > d),
                ),
            )
        else:
            q = q.add_columns(codes.c.gday, codes.c.gseq).join(codes, codes.c.lot_id == ML.c.lot_id)
        return (
            q.join(L, L.c.lot_id == ML.c.lot_id)
            .join(M, M.c.manifest_id == ML.c.manifest_id)
            .outerjoin(H, H.c.id == M.c.handler_enterprise_id)
            .outerjoin(LIC, LIC.c.id == M.c.handler_licence_id)
            .outerjoin(F, F.c.facility_id == ML.c.facility_id)
            .where(
                ML.c.site_id.in_(site_ids),
                ML.c.cancelled.is_(False),
                ML.c.dispatched_at >= start,
                ML.c.dispatched_at < end,
            )
            .order_by(ML.c.dispatched_at, ML.c.lot_id)
        )

    def storage_out() -> Iterator[list[Any]]:
        for r in _stream(session, _out_query(storage_in=True)):
            yield [
                _code("HWCK", r.oday, r.oseq),
                _local(r.dispatched_at),
                r.digital_id or "",
                CONTAINER_ZH.get(r.container_type, r.container_type),
                1,
                r.name,
                r.category,
                r.waste_code,
                _tonnes(r.weight_kg),
                "t",
                r.fcode or "",
                FACILITY_ZH.get(r.ftype or "", r.ftype or ""),
                "",
                "",
                _code("HWRK", r.iday, r.iseq),
                f"委外：{r.handler_name or ''}（联单 {r.number}）",
            ]

    def offsite() -> Iterator[list[Any]]:
        for r in _stream(session, _out_query(storage_in=False)):
            method = r.method_code or r.planned_method or ""
            prefix = "HWWWCZ" if method.startswith("D") else "HWWWLY"
            result = {"accepted": "接受", "partly_accepted": "部分接受", "rejected": "拒收"}
            yield [
                _code(prefix, r.oday, r.oseq),
                _local(r.dispatched_at),
                r.digital_id or "",
                CONTAINER_ZH.get(r.container_type, r.container_type),
                1,
                r.name,
                r.category,
                r.waste_code,
                _tonnes(r.accepted_kg if r.accepted_kg is not None else r.weight_kg),
                "t",
                method,
                "持证单位",
                r.handler_name or "",
                r.licence_no or "",
                _code("HWCS", r.gday, r.gseq),
                _code("HWCK", r.oday, r.oseq),
                r.number,
                ("退回移出人" if r.returned else result.get(r.outcome or "", "")),
                str(r.completed_on or ""),
            ]

    return [
        Sheet(GENERATION[0], GENERATION[1], GENERATION[2], generation()),
        Sheet(STORAGE_IN[0], STORAGE_IN[1], STORAGE_IN[2], storage_in()),
        Sheet(STORAGE_OUT[0], STORAGE_OUT[1], STORAGE_OUT[2], storage_out()),
        Sheet(OWN[0], OWN[1], OWN[2], iter(())),
        Sheet(OFFSITE[0], OFFSITE[1], OFFSITE[2], offsite()),
    ]


def _destination(status: str) -> str:
    return {
        "generated": "待贮存",
        "labelled": "待贮存",
        "stored": "贮存",
        "allocated": "贮存（待转移）",
        "shipped": "委外利用处置（运输中）",
        "received": "委外利用处置",
        "rejected": "委外（拒收）",
        "disposed": "委外处置",
        "utilised": "委外利用",
    }.get(status, status)


def export_scope(actor: Principal, site_id: UUID | None) -> list[UUID]:
    actor.require(Permission.export_read)
    if site_id is not None:
        actor.require_site(site_id)
        return [site_id]
    if not actor.site_ids:
        raise PermissionDenied("no site in your scope to export")
    return sorted(actor.site_ids, key=str)


# The days an export may name: wide enough for any plant's records, narrow enough that the
# China-time day bounds stay within the calendar (0001-01-01 has no UTC instant before it).
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in China time, as UTC instants."""
    for name, day in (("from", start), ("to", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(f"`{name}` must lie between {FIRST_DAY} and {LAST_DAY}", field=name)
    if end < start:
        raise InvalidInput("`to` is before `from`", field="to")
    if (end - start).days > 3 * 366:
        raise InvalidInput("export at most three years at a time", field="to")
    lo = datetime.combine(start, datetime.min.time(), CHINA).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), CHINA).astimezone(UTC)
    return lo, hi


def ledger_xlsx(
    *, session: Session, actor: Principal, site_id: UUID | None, start: date, end: date, path: Path
) -> int:
    sites = export_scope(actor, site_id)
    lo, hi = period_bounds(start, end)
    return write_xlsx(ledger_sheets(session=session, site_ids=sites, start=lo, end=hi), path)


def ledger_csv(
    *, ctx: AppContext, actor: Principal, site_id: UUID | None, start: date, end: date
) -> Iterator[str]:
    """CSV lines, streamed from their own read session (the response outlives the request's)."""
    sites = export_scope(actor, site_id)
    lo, hi = period_bounds(start, end)

    def gen() -> Iterator[str]:
        with ctx.db.session(write=False) as session:
            yield from csv_lines(ledger_sheets(session=session, site_ids=sites, start=lo, end=hi))

    return gen()


# ---------------------------------------------------------------- periodic declaration


class SiteClass(NamedTuple):
    """A site's HJ 1259 §4.2 management class today, the annual t it was decided on, and why."""

    klass: str  # key | simplified | registration
    annual_t: Decimal
    reasons: list[str]


def management_class(session: Session, site: Site, today: date) -> SiteClass:
    """HJ 1259 4.2: the max annual generation (t) of the last three calendar years (the current
    year's last 12 months when younger), ≥ 100 t, an own utilisation/disposal facility or an
    operating licence → key; ≥ 10 t → simplified. The scorecard classes an assessed year
    (that year and the two before) with the same function."""
    L = LotRow.__table__  # type: ignore[attr-defined]
    best = Decimal(0)
    ends = [today] + [date(today.year - k, 12, 31) for k in (1, 2, 3)]
    for end in ends:
        lo, hi = period_bounds(end - timedelta(days=364), end)
        kg = session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(L.c.weight_kg), 0)).where(
                L.c.site_id == site.id,
                managed_hazardous(),
                L.c.generated_at >= lo,
                L.c.generated_at < hi,
            )
        ).scalar_one()
        best = max(best, Decimal(kg) / 1000)
    best = best.quantize(Decimal("0.001"))
    klass, reasons = classify(
        best, own_facility=site.own_disposal_facility, licence=site.licensed_operator
    )
    return SiteClass(klass, best, reasons)


DECLARATIONS = uuid5(UUID(int=0), "hazchain-declarations")


def declarations_stream(site_id: UUID) -> UUID:
    """Each site's filings are one stream on its chain."""
    return uuid5(DECLARATIONS, str(site_id))


def reporting_situation(
    session: Session, site: Site, now: datetime, filed: Iterable[str] | None = None
) -> ReportingSituation:
    """What R60 reads for a site: its class, the last twelve months' periods, the filings
    (`filed`: the periods filed, when the caller has read them already)."""
    today = now.astimezone(CHINA).date()
    klass, annual_t, reasons = management_class(session, site, today)
    since = site.created_at.astimezone(CHINA).date()
    if filed is None:
        filed = session.exec(
            select(DeclarationFilingRow.period).where(DeclarationFilingRow.site_id == site.id)
        )
    return ReportingSituation(
        step=Step.reporting,
        now=now,
        today=today,
        management_class=klass,
        annual_t=annual_t,
        class_reasons=tuple(reasons),
        periods=tuple(recent_periods(klass, today, since)),
        filed=frozenset(filed),
        tdata=load_transfer_data(),
    )


def declaration_calendar(
    *, session: Session, ctx: AppContext, actor: Principal, site_id: UUID
) -> schemas.DeclarationCalendar:
    """The site's declarations of the last twelve months: due dates and what was filed."""
    require_export_site(actor, site_id)
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site not found", site_id=str(site_id))
    rows = {
        r.period: r
        for r in session.exec(
            select(DeclarationFilingRow).where(DeclarationFilingRow.site_id == site_id)
        )
    }
    s = reporting_situation(session, site, ctx.clock.now(), filed=rows)
    # R60 names the periods that need attention; the rest are filed or not yet near
    attention = {f.values["period"]: f.values["level"] for f in evaluate(s)}  # type: ignore[arg-type]
    periods = []
    for p in sorted(s.periods, key=lambda p: (p.due, p.kind != "yearly"), reverse=True):
        row = rows.get(p.label)
        status = (
            "filed"
            if row
            else {"past": "overdue", "due": "due"}.get(attention.get(p.label, ""), "open")
        )
        periods.append(
            schemas.DeclarationPeriod(
                period=p.label,
                cycle=p.kind,
                starts_on=p.first,
                ends_on=p.last,
                due_on=p.due,
                status=status,
                filed_on=row.filed_on if row else None,
                receipt_no=row.receipt_no if row else None,
                filings=row.filings if row else 0,
                filed_at=row.recorded_at if row else None,
            )
        )
    return schemas.DeclarationCalendar(
        site_id=site_id,
        management_class=s.management_class,
        management_class_zh=CLASS_ZH[s.management_class],
        management_class_reasons=list(s.class_reasons),
        annual_generation_t=s.annual_t,
        required_cycle=CYCLE[s.management_class],
        warn_days=s.tdata.declaration_warn_days,
        periods=periods,
    )


def file_declaration(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.DeclarationFilingCreate
) -> schemas.DeclarationCalendar:
    """Record that the site's declaration for a period was filed in the national system (a
    second filing for the period records a corrected declaration). The site's R60 alerts are
    brought up to date at once."""
    from app.alerts import service as alert_service  # the sweep reads this module's situation

    require_export_site(actor, cmd.site_id)
    actor.require(Permission.declaration_file)
    site = session.get(Site, cmd.site_id)
    if site is None:
        raise NotFound("site not found", site_id=str(cmd.site_id))
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    stream = declarations_stream(site.id)
    existing = store.get(cmd.event_id)
    if existing is not None and existing.stream_id != stream:
        raise Conflict("event_id was already used for a different command", field="event_id")
    if existing is None:
        now = ctx.clock.now()
        today = now.astimezone(CHINA).date()
        p = parse_period(cmd.period)
        if p.last >= today:
            raise InvalidInput(f"period {p.label} has not ended yet", field="period")
        if cmd.filed_on > today:
            raise InvalidInput("filed_on is in the future", field="filed_on")
        if cmd.filed_on <= p.last:
            raise InvalidInput(
                f"filed_on is before period {p.label} ended ({p.last})", field="filed_on"
            )
        klass = management_class(session, site, today).klass
        check_cycle(klass, p)
        Recorder(session, ctx).record(
            actor=actor,
            site_id=site.id,
            stream_type=DECLARATION_STREAM,
            stream_id=stream,
            expected_version=store.stream_version(stream),
            event_id=cmd.event_id,
            occurred_at=cmd.occurred_at or now,
            events=[
                DeclarationFiled(
                    period=p.label,
                    filed_on=cmd.filed_on,
                    receipt_no=cmd.receipt_no,
                    management_class=klass,
                )
            ],
        )
        alert_service.sweep(session=session, ctx=ctx, site_ids=[site.id])
    return declaration_calendar(session=session, ctx=ctx, actor=actor, site_id=cmd.site_id)


def declaration(
    *, session: Session, ctx: AppContext, actor: Principal, site_id: UUID, period: str
) -> dict[str, Any]:
    """HJ 1259 §7 / Appendix C: opening stock, generated, shipped per handler and method,
    closing stock, per waste code, in t; with the site's management class and its cycle."""
    require_export_site(actor, site_id)
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site not found")
    p = parse_period(period)
    kind, first, last = p.kind, p.first, p.last
    today = (ctx.clock.now().astimezone(CHINA)).date()
    klass, annual_t, reasons = management_class(session, site, today)
    check_cycle(klass, p)
    required = CYCLE[klass]
    lo, hi = period_bounds(first, last)
    L = LotRow.__table__  # type: ignore[attr-defined]
    ML = ManifestLotRow.__table__  # type: ignore[attr-defined]
    M = ManifestRow.__table__  # type: ignore[attr-defined]
    H = Enterprise.__table__  # type: ignore[attr-defined]
    LIC = HandlerLicenceRow.__table__  # type: ignore[attr-defined]

    def by_code(q: Any) -> dict[str, Decimal]:
        return {r[0]: Decimal(r[1] or 0) for r in session.execute(q)}

    hw = sa.and_(L.c.site_id == site_id, managed_hazardous())  # the exempt are not declared
    gen_before = by_code(
        sa.select(L.c.waste_code, sa.func.sum(L.c.weight_kg))
        .where(hw, L.c.generated_at < lo)
        .group_by(L.c.waste_code)
    )
    gen_in = by_code(
        sa.select(L.c.waste_code, sa.func.sum(L.c.weight_kg))
        .where(hw, L.c.generated_at >= lo, L.c.generated_at < hi)
        .group_by(L.c.waste_code)
    )
    shipped = sa.and_(
        ML.c.site_id == site_id,
        ML.c.cancelled.is_(False),
        ML.c.returned.is_(False),
        ML.c.dispatched_at.is_not(None),
    )
    out_before = by_code(
        sa.select(ML.c.waste_code, sa.func.sum(ML.c.weight_kg))
        .where(shipped, ML.c.dispatched_at < lo)
        .group_by(ML.c.waste_code)
    )
    method = sa.func.coalesce(ML.c.method_code, ML.c.planned_method)
    out_rows = session.execute(
        sa.select(
            ML.c.waste_code,
            H.c.name,
            H.c.division_code,
            LIC.c.licence_no,
            method.label("method"),
            sa.func.sum(ML.c.weight_kg),
        )
        .join(M, M.c.manifest_id == ML.c.manifest_id)
        .join(H, H.c.id == M.c.handler_enterprise_id)
        .join(LIC, LIC.c.id == M.c.handler_licence_id)
        .where(shipped, ML.c.dispatched_at >= lo, ML.c.dispatched_at < hi)
        .group_by(ML.c.waste_code, H.c.name, H.c.division_code, LIC.c.licence_no, method)
        .order_by(ML.c.waste_code, H.c.name)
    ).all()
    out_in: dict[str, Decimal] = {}
    for r in out_rows:
        out_in[r[0]] = out_in.get(r[0], Decimal(0)) + Decimal(r[5] or 0)
    codes = sorted(set(gen_before) | set(gen_in) | set(out_before) | set(out_in))
    names = {e.code: e for e in ctx.catalogue.all()} if hasattr(ctx.catalogue, "all") else {}

    def t(kg: Decimal) -> str:
        return str((kg / 1000).quantize(Decimal("0.001")))

    lines = []
    for code in codes:
        opening = gen_before.get(code, Decimal(0)) - out_before.get(code, Decimal(0))
        generated = gen_in.get(code, Decimal(0))
        out = out_in.get(code, Decimal(0))
        entry = names.get(code)
        lines.append(
            {
                "waste_code": code,
                "category": f"HW{code[-2:]}",
                "name": getattr(entry, "category_name", None) or "",
                "opening_stock_t": t(opening),
                "generated_t": t(generated),
                "own_utilised_disposed_t": "0.000",
                "shipped_t": t(out),
                "closing_stock_t": t(opening + generated - out),
            }
        )
    return {
        "site_id": str(site_id),
        "site_code": site.code,
        "site_name": site.name,
        "period": period,
        "cycle": kind,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "due_on": p.due.isoformat(),
        "management_class": klass,
        "management_class_zh": CLASS_ZH[klass],
        "management_class_reasons": reasons,
        "annual_generation_t": str(annual_t),
        "required_cycle": required,
        "unit": "t",
        "lines": lines,
        "shipped": [
            {
                "waste_code": r[0],
                "handler_name": r[1],
                "handler_province_city": r[2][:4],
                "licence_no": r[3],
                "method": r[4],
                "quantity_t": t(Decimal(r[5] or 0)),
            }
            for r in out_rows
        ],
        "totals": {
            "generated_t": t(sum(gen_in.values(), Decimal(0))),
            "shipped_t": t(sum(out_in.values(), Decimal(0))),
        },
        "citation": "HJ 1259-2022 §7.2, §7.3, Appendix C",
    }
