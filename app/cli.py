"""`hazchain` command line: migrate, create-user, seed-demo, verify, rebuild-projections,
sweep, checkpoint, serve."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.config import get_settings

cli = typer.Typer(
    help="hazchain — hazardous-waste chain of custody", no_args_is_help=True, add_completion=False
)
console = Console()


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


@cli.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (alembic upgrade head)."""
    from app.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    console.print(f"migrated: {_safe_url(settings.effective_database_url)} is at head")


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
) -> None:
    """Create a user (e.g. the first admin of a production installation)."""
    from sqlmodel import select

    from app.domain.errors import DomainError
    from app.domain.values import Role
    from app.identity import schemas
    from app.identity import service as identity_service
    from app.identity.models import Enterprise

    ctx = _ctx()
    try:
        with ctx.db.session() as session:
            ent = session.exec(select(Enterprise).where(Enterprise.uscc == enterprise_uscc)).first()
            if ent is None:
                raise typer.BadParameter(f"no enterprise with USCC {enterprise_uscc}")
            user = identity_service.create_user(
                session=session,
                ctx=ctx,
                cmd=schemas.UserCreate(
                    username=username,
                    display_name=display_name or username,
                    password=password,
                    role=Role(role),
                    enterprise_id=ent.id,
                    all_sites=all_sites,
                ),
            )
    except DomainError as exc:
        console.print(f"[red]refused:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    console.print(f"created user {user.username} ({user.role.value})")


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
    if report.ok:
        console.print(f"{report.summary()} ({rate:,.0f} events/s)")
    else:
        console.print(f"[red]{report.summary()}[/red]")
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
    """Sign the current head of every site's chain."""
    from app.audit import service as audit_service

    ctx = _ctx()
    with ctx.db.session() as session:
        cps = audit_service.sign_checkpoints(session=session, ctx=ctx, actor=None)
    console.print(f"signed {len(cps)} checkpoints")


@cli.command("export-db")
def export_db(
    file: Annotated[str, typer.Argument(help="where to write the dump (JSON Lines)")],
) -> None:
    """A logical dump of every table, restorable with import-db (SQLite or PostgreSQL)."""
    from app.backup import export_db as dump

    ctx = _ctx()
    # one snapshot: a dump taken while the plant works holds the tables as of one moment
    with ctx.db.session(write=False) as session, open(file, "w", encoding="utf-8") as out:
        counts = dump(session.connection(), out)
    console.print(f"exported {sum(counts.values())} rows of {len(counts)} tables to {file}")


@cli.command("import-db")
def import_db(
    file: Annotated[str, typer.Argument(help="a dump written by export-db")],
) -> None:
    """Restore a dump into an empty, migrated database (one transaction), then verify."""
    from app.backup import RestoreError
    from app.backup import import_db as restore
    from app.eventstore.verify import verify_chains

    ctx = _ctx()
    try:
        with ctx.db.engine.begin() as conn, open(file, encoding="utf-8") as src:
            counts = restore(conn, src)
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
) -> None:
    """Check a log export offline: every hash, the chain, the signed checkpoints."""
    import json
    from pathlib import Path

    from reports.verify_export import verify_file

    pem = Path(key).read_text(encoding="utf-8") if key else None
    jwk_data = json.loads(Path(jwk).read_text(encoding="utf-8")) if jwk else None
    res = verify_file(file, pem, jwk_data)
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

    from app.seed import DEMO_PASSWORD

    settings = get_settings()
    settings.check_startup()
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
