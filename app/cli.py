"""`hazchain` command line: migrate, create-enterprise, create-user, seed-demo, verify,
rebuild-projections, sweep, checkpoint, serve."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.config import get_settings

if TYPE_CHECKING:
    from app.context import AppContext
    from app.domain.errors import DomainError

cli = typer.Typer(
    help="hazchain — hazardous-waste chain of custody", no_args_is_help=True, add_completion=False
)
console = Console(soft_wrap=True)  # a long line stays one line, for scripts and logs
err_console = Console(stderr=True, soft_wrap=True)
M = TypeVar("M", bound=BaseModel)


def _ctx():  # type: ignore[no-untyped-def]
    from app import tables  # noqa: F401
    from app.context import AppContext

    return AppContext.create(get_settings())


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, and the exit status: 2 for bad input, 1 for a refusal."""
    err_console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def _exit_code(exc: DomainError) -> int:
    from app.domain.errors import InvalidInput, NotFound

    return 2 if isinstance(exc, InvalidInput | NotFound) else 1


def _validated(model: type[M], prefix: str = "", **fields: Any) -> M:
    """The command, or exit 2 naming the options at fault. The values are not repeated: one
    may be a password."""
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False):
            field = str(err["loc"][0]) if err["loc"] else ""
            option = "USERNAME" if field == "username" else f"--{prefix}{field.replace('_', '-')}"
            problems.append(f"{option}: {err['msg'].removeprefix('Value error, ')}")
        _fail("; ".join(problems), 2)


def _require_schema(ctx: AppContext) -> None:
    import sqlalchemy as sa

    if not sa.inspect(ctx.db.engine).has_table("enterprise"):
        url = _safe_url(ctx.settings.effective_database_url)
        _fail(f"{url} has no schema yet: run `hazchain migrate` first", 1)


@cli.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (alembic upgrade head)."""
    from app.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    console.print(f"migrated: {_safe_url(settings.effective_database_url)} is at head")


@cli.command("create-enterprise")
def create_enterprise(
    uscc: Annotated[
        str, typer.Option(help="统一社会信用代码: 18 characters, GB 32100 check character")
    ],
    name: Annotated[str, typer.Option(help="the enterprise's registered name")],
    division_code: Annotated[
        str, typer.Option(help="GB/T 2260 6-digit division code of its domicile, e.g. 320571")
    ],
    kind: Annotated[str, typer.Option(help="plant|handler|carrier|regulator")] = "plant",
    address: Annotated[str | None, typer.Option()] = None,
    contact_name: Annotated[str | None, typer.Option()] = None,
    contact_phone: Annotated[str | None, typer.Option()] = None,
    site_code: Annotated[
        str | None, typer.Option(help="also create its first site, with this code (e.g. SZ01)")
    ] = None,
    site_name: Annotated[str | None, typer.Option(help="the first site's name")] = None,
    site_division_code: Annotated[
        str | None, typer.Option(help="the first site's division code (default: --division-code)")
    ] = None,
    site_address: Annotated[str | None, typer.Option(help="the first site's address")] = None,
) -> None:
    """Create an enterprise, and optionally its first site (the start of a production
    installation: create-user needs the enterprise)."""
    from app.domain.errors import DomainError
    from app.identity import schemas
    from app.identity import service as identity_service

    if site_code is None and (site_name or site_division_code or site_address):
        _fail("--site-name, --site-division-code and --site-address need --site-code", 2)
    if site_code is not None and not site_name:
        _fail("--site-code needs --site-name", 2)
    ctx = _ctx()
    try:
        _require_schema(ctx)
        with ctx.db.session() as session:
            cmd = _validated(
                schemas.EnterpriseCreate,
                name=name.strip(),
                uscc=uscc,
                kind=kind.strip().lower(),
                division_code=division_code.strip(),
                address=address,
                contact_name=contact_name,
                contact_phone=contact_phone,
            )
            ent = identity_service.create_enterprise(
                session=session, ctx=ctx, cmd=cmd, actor=None, via="cli"
            )
            site = None
            if site_code is not None:
                site_cmd = _validated(
                    schemas.SiteCreate,
                    prefix="site-",
                    enterprise_id=ent.id,
                    code=site_code.strip(),
                    name=(site_name or "").strip(),
                    division_code=(site_division_code or cmd.division_code).strip(),
                    address=site_address,
                )
                site = identity_service.create_site(
                    session=session, ctx=ctx, cmd=site_cmd, actor=None, via="cli"
                )
    except DomainError as exc:
        _fail(exc.message, _exit_code(exc))
    finally:
        ctx.db.dispose()
    console.print(f"created enterprise {escape(ent.name)} (USCC {ent.uscc}, {ent.kind})")
    if site is not None:
        console.print(f"created site {site.code} {escape(site.name)}; its event chain is open")


@cli.command("create-user")
def create_user(
    username: str,
    role: Annotated[
        str, typer.Option(help="admin|ehs_manager|operator|handler|transporter|auditor")
    ],
    enterprise_uscc: Annotated[str, typer.Option(help="USCC of the user's enterprise")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    display_name: Annotated[str | None, typer.Option()] = None,
    all_sites: Annotated[bool, typer.Option(help="scope: every site of the enterprise")] = False,
    site: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CODE", help="scope: this site of the enterprise, by code (repeatable)"
        ),
    ] = None,
) -> None:
    """Create a user (e.g. the first admin of a production installation)."""
    from sqlmodel import select

    from app.domain.errors import DomainError
    from app.domain.values import Role
    from app.identity import schemas
    from app.identity import service as identity_service
    from app.identity.models import Enterprise, Site

    roles = ", ".join(r.value for r in Role)
    try:
        user_role = Role(role.strip().lower())
    except ValueError:
        _fail(f"unknown role {role!r}: choose one of {roles}", 2)
    codes = list(dict.fromkeys(c.strip() for c in site or []))
    if codes and all_sites:
        _fail("--site and --all-sites exclude each other: name sites, or take them all", 2)
    uscc = enterprise_uscc.strip().upper()
    ctx = _ctx()
    try:
        _require_schema(ctx)
        with ctx.db.session() as session:
            ent = session.exec(select(Enterprise).where(Enterprise.uscc == uscc)).first()
            if ent is None:
                _fail(f"no enterprise with USCC {uscc} (create it with create-enterprise)", 2)
            in_ent = select(Site).where(Site.enterprise_id == ent.id)
            found = (
                {
                    s.code: s.id
                    for s in session.exec(in_ent.where(Site.code.in_(codes)))  # type: ignore[attr-defined]
                }
                if codes
                else {}
            )
            missing = [c for c in codes if c not in found]
            if missing:
                known = session.exec(
                    select(Site.code).where(Site.enterprise_id == ent.id).order_by(Site.code)
                ).all()
                _fail(
                    f"no site {', '.join(missing)} in {ent.name} "
                    f"(its sites: {', '.join(known) or 'none yet'})",
                    2,
                )
            cmd = _validated(
                schemas.UserCreate,
                username=username.strip().lower(),  # sign-in lower-cases it too
                display_name=display_name or username,
                password=password,
                role=user_role,
                enterprise_id=ent.id,
                all_sites=all_sites,
                site_ids=[found[c] for c in codes],
            )
            user = identity_service.create_user(
                session=session, ctx=ctx, cmd=cmd, actor=None, via="cli"
            )
    except DomainError as exc:
        _fail(exc.message, _exit_code(exc))
    finally:
        ctx.db.dispose()
    scope = "every site" if all_sites else ", ".join(codes) or "no site"
    console.print(f"created user {user.username} ({user.role.value}; {scope})")


@cli.command("seed-demo")
def seed_demo(
    if_empty: Annotated[bool, typer.Option(help="do nothing if the database has users")] = False,
) -> None:
    """Seed the demo plant (development mode only): sites, zones, users, a year of lots."""
    from sqlmodel import select

    from app.domain.errors import DomainError
    from app.identity.models import User
    from app.seed import DEMO_PASSWORD
    from app.seed import seed_demo as run_seed
    from app.seed_showcase import add_showcase

    ctx = _ctx()
    if if_empty:
        with ctx.db.session(write=False) as session:
            if session.exec(select(User)).first() is not None:
                console.print("demo seed skipped: the database already has users")
                return
    try:
        with console.status("seeding the demo plant (a year of activity)…"):
            counts = run_seed(ctx)
            alerts = add_showcase(ctx)
    except DomainError as exc:
        console.print(f"[red]refused:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    console.print(
        f"seeded demo plant: {counts['lots']} lots, {counts['steps']} custody steps, "
        f"{alerts} open alerts; "
        f"logins admin, ehs_manager, operator, handler, transporter, auditor / "
        f"{DEMO_PASSWORD}"
    )


@cli.command()
def verify(
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="processes checking a long chain in spans (default: one per core; 1: one pass)",
        ),
    ] = None,
) -> None:
    """Recompute every hash chain and check the signed checkpoints; the run is recorded (the
    console shows the last one)."""
    import sqlalchemy as sa

    from app.audit import jobs as audit_jobs
    from app.audit import service as audit_service
    from app.eventstore.models import StoredEvent
    from app.eventstore.verify import default_workers

    ctx = _ctx()
    with ctx.db.session(write=False) as session:
        total = session.exec(sa.select(sa.func.count()).select_from(StoredEvent)).one()[0]  # type: ignore[call-overload]
    with _progress() as progress:
        task = progress.add_task("verifying chains", total=total)
        report, record = audit_jobs.verify(
            ctx, progress=lambda n: progress.advance(task, n), workers=workers or default_workers()
        )
    rate = report.events / report.seconds if report.seconds else 0
    line = audit_service.report_read(report).summary  # the chains, then the change trail
    if report.ok:
        console.print(f"{line} ({rate:,.0f} events/s)")
    else:
        console.print(f"[red]{line}[/red]")
    try:
        record(trigger="cli")
    except sa.exc.DBAPIError as exc:
        # A read-only database (a replica; SQLSTATE 25006 on PostgreSQL): the answer stands.
        # Anything else (a missing migration, a lost connection) is an error.
        text = str(exc.orig)
        if getattr(exc.orig, "sqlstate", None) != "25006" and "readonly database" not in text:
            raise
        console.print(f"(the run was not recorded: {text.splitlines()[0]})")
    if not report.ok:
        raise typer.Exit(1)


@cli.command("rebuild-projections")
def rebuild_projections() -> None:
    """Empty the read models and replay the whole log into them."""
    import time

    import sqlalchemy as sa

    from app.eventstore.models import StoredEvent
    from app.projections.base import rebuild

    ctx = _ctx()
    started = time.perf_counter()
    with ctx.db.session() as session:
        total = session.exec(sa.select(sa.func.count()).select_from(StoredEvent)).one()[0]  # type: ignore[call-overload]
        with _progress() as progress:
            task = progress.add_task("replaying", total=total)
            n = rebuild(session, progress=lambda k: progress.advance(task, k))
    console.print(f"rebuilt projections from {n} events in {time.perf_counter() - started:.1f}s")


@cli.command()
def sweep() -> None:
    """Run the storage sweep: raise and clear alerts (it also runs inside the server)."""
    from app.alerts import service as alert_service

    ctx = _ctx()
    with ctx.db.session() as session:
        result = alert_service.sweep(session=session, ctx=ctx)
    console.print(
        f"sweep: {result.raised} alerts raised, {result.cleared} cleared, {result.open} open"
    )


@cli.command()
def checkpoint() -> None:
    """Sign the current head of every site's chain, and of the master data's change trail."""
    from app.audit import service as audit_service

    ctx = _ctx()
    with ctx.db.session() as session:
        cps = audit_service.sign_checkpoints(session=session, ctx=ctx, actor=None)
    console.print(f"signed {len(cps)} checkpoints and the change trail's head")


@cli.command("export-db")
def export_db(
    file: Annotated[str, typer.Argument(help="where to write the dump (JSON Lines)")],
) -> None:
    """A logical dump of every table, restorable with import-db (SQLite or PostgreSQL)."""
    from app.backup import export_db as dump
    from app.scorecard.service import evidence_dir

    ctx = _ctx()
    # one snapshot: a dump taken while the plant works holds the tables as of one moment
    with ctx.db.session(write=False) as session, open(file, "w", encoding="utf-8") as out:
        counts = dump(session.connection(), out, files=evidence_dir(ctx))
    console.print(
        f"exported {sum(counts.values())} rows of {len(counts)} tables and the evidence files "
        f"to {file}"
    )


@cli.command("import-db")
def import_db(
    file: Annotated[str, typer.Argument(help="a dump written by export-db")],
) -> None:
    """Restore a dump into an empty, migrated database (one transaction), then verify."""
    from app.backup import RestoreError
    from app.backup import import_db as restore
    from app.eventstore.verify import verify_chains
    from app.scorecard.service import evidence_dir

    ctx = _ctx()
    try:
        with ctx.db.engine.begin() as conn, open(file, encoding="utf-8") as src:
            counts = restore(conn, src, files=evidence_dir(ctx))
    except RestoreError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    with ctx.db.engine.connect() as conn:
        report = verify_chains(conn, ctx.keys.public_key)
    console.print(f"imported {sum(counts.values())} rows; chains: {report.summary()}")
    if not report.ok:
        raise typer.Exit(1)


@cli.command("verify-export")
def verify_export(
    file: Annotated[str, typer.Argument(help="a log export (JSON Lines)")],
    key: Annotated[str | None, typer.Option(help="the site's public key (PEM file)")] = None,
    jwk: Annotated[str | None, typer.Option(help="the site's public key (JWK file)")] = None,
    accept_unsealed: Annotated[
        bool,
        typer.Option(
            "--accept-unsealed",
            help="check an unsealed v1 export as far as it goes instead of failing it",
        ),
    ] = False,
) -> None:
    """Check a log export offline: every hash, the chain, the signed checkpoints, the seal."""
    import json
    from pathlib import Path

    from reports.verify_export import verify_file

    pem = Path(key).read_text(encoding="utf-8") if key else None
    jwk_data = json.loads(Path(jwk).read_text(encoding="utf-8")) if jwk else None
    res = verify_file(file, pem, jwk_data, accept_unsealed=accept_unsealed)
    for note in res.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if res.ok:
        console.print(res.summary())
    else:
        console.print(f"[red]{res.summary()}[/red]")
        raise typer.Exit(1)


@cli.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
) -> None:
    """Serve the API (uvicorn), printing the URL and the demo logins."""
    import uvicorn

    from app.core.db import Database
    from app.migrate import require_schema_at_head
    from app.seed import DEMO_PASSWORD

    settings = get_settings()
    settings.check_startup()
    db = Database(settings.effective_database_url)
    try:
        require_schema_at_head(db.engine)  # one line now rather than a failed startup later
    finally:
        db.dispose()
    console.print(f"hazchain on [bold]http://{host}:{port}/[/bold]  (API docs: /docs)")
    if not settings.is_production:
        console.print(
            f"demo logins: admin, ehs_manager, operator, handler, transporter, "
            f"auditor — password {DEMO_PASSWORD}"
        )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=int(os.environ.get("WEB_CONCURRENCY", "1")),
    )


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main() -> None:
    try:
        cli()
    except Exception as exc:  # a configuration error should read as one line, not a trace
        from app.config import ConfigurationError

        if isinstance(exc, ConfigurationError):
            console.print(f"[red]configuration error:[/red] {exc}")
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
