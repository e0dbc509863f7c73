"""Commands grouped by noun."""

from __future__ import annotations

import functools
import os
import sys
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterator

import click
from sqlalchemy.orm import Session

from blacklist.clock import today
from blacklist.db import make_engine, make_sessionmaker, refresh_statistics
from blacklist.deployment import KeyMismatchError, bind_id_key
from blacklist.ingest import Checked, IngestReport, Ingestor, check_lines
from blacklist.migrate import upgrade
from blacklist.parallel import run_chunks
from blacklist.settings import Settings
from blacklist.tokens import ROLES, create_token
from blacklist.workdays import HolidayFileError, WorkdayCalendar
from cli import main


def open_session(settings: Settings) -> Session:
    """A session on the configured database, which must have been initialised and bound
    to the configured identity-hash key."""
    engine = make_engine(settings.database_url)
    require_schema(engine)
    require_id_key(engine, settings)
    return make_sessionmaker(engine)()


def require_id_key(engine: Any, settings: Settings) -> None:
    """Refuse to go on with another identity-hash key than the database's (blacklist.deployment)."""
    try:
        bind_id_key(engine, settings.id_hash_key)
    except KeyMismatchError as exc:
        raise click.ClickException(str(exc)) from None


def require_calendar(settings: Settings) -> None:
    """Stop with the holidays file's own message when it cannot be read (before any worker
    starts, so that no request meets it)."""
    try:
        WorkdayCalendar.configured(settings.holidays_file)
    except HolidayFileError as exc:
        raise click.ClickException(f"BLACKLIST_HOLIDAYS_FILE: {exc}") from None


def require_schema(engine: Any) -> None:
    from sqlalchemy import inspect

    if not inspect(engine).has_table("alembic_version"):
        where = engine.url.render_as_string(hide_password=True)
        raise click.ClickException(f"the database {where} is not initialised: run `blacklist init` first")


@main.command()
@click.pass_obj
def init(settings: Settings) -> None:
    """Create or upgrade the database (idempotent)."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    require_id_key(engine, settings)
    click.echo(f"database ready: {engine.url.render_as_string(hide_password=True)}")


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True, help="Who holds the token (shown in the audit log).")
@click.pass_obj
def tokens_create(settings: Settings, role: str, name: str) -> None:
    """Create a token; it is printed once, alone on the last line."""
    with open_session(settings) as session, session.begin():
        plain, token = create_token(session, role=role, name=name)
    click.echo(f"token {token.id} for {name} ({role}); store it now, it is not shown again:")
    click.echo(plain)


def _line_chunks(handle: Any, size: int) -> Iterator[tuple[list[tuple[int, bytes]], int]]:
    """`([(line number, line), …], offset after the chunk)` for the non-blank lines, `size` a chunk."""
    chunk: list[tuple[int, bytes]] = []
    for number, raw in enumerate(handle, start=1):
        if raw.strip():
            chunk.append((number, raw))
            if len(chunk) >= size:
                yield chunk, handle.tell()
                chunk = []
    if chunk:
        yield chunk, handle.tell()


def _checked_chunks(handle: Any, size: int, jobs: int, check: Callable[[list[tuple[int, bytes]]], Checked]
                    ) -> Iterator[tuple[Checked, int]]:
    """Each chunk of the file parsed and validated, in order, with the file offset after it:
    in `jobs` child processes while this one stores (jobs > 0), or here."""
    if not jobs:
        for lines, offset in _line_chunks(handle, size):
            yield check(lines), offset
        return
    offsets: deque[int] = deque()

    def chunks() -> Iterator[list[tuple[int, bytes]]]:
        for lines, offset in _line_chunks(handle, size):
            offsets.append(offset)
            yield lines

    for lines, checked in run_chunks(check, chunks(), workers=jobs):
        # A child that died twice on a chunk (it cannot, short of running out of memory):
        # validate that chunk here rather than lose it.
        yield (checked if checked is not None else check(lines)), offsets.popleft()


def _print_summary(file: Path, report: IngestReport, evaluated: dict[str, int]) -> None:
    click.echo(f"read {report.total} records from {file}: {report.accepted} accepted, "
               f"{report.unchanged} unchanged, {report.new_versions} new versions, "
               f"{len(report.rejected)} rejected")
    for key, value in evaluated.items():
        click.echo(f"{key.replace('_', ' ')}: {value}")
    shown = sorted(report.rejected, key=lambda r: r.index)
    for rejection in shown[:1000]:
        problems = "; ".join(f"{name or 'record'}: {' '.join(msgs)}" for name, msgs in rejection.errors.items())
        label = f" ({rejection.record_id})" if rejection.record_id else ""
        click.echo(f"  line {rejection.index}{label}: {problems}", err=True)
    if len(shown) > 1000:
        click.echo(f"  ... and {len(shown) - 1000} more rejected lines", err=True)


# Below this size a file is validated in the importing process: starting child processes
# (about half a second) would cost more than they save.
_PARALLEL_FROM_BYTES = 8 << 20


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-evaluate", is_flag=True, help="Store only; evaluate later.")
@click.option("--jobs", type=click.IntRange(min=0), default=None,
              help="Child processes that parse and validate while this one stores "
                   "(default: one per CPU for a file over 8 MiB; 0: all in this process).")
@click.pass_obj
def import_(settings: Settings, file: Path, no_evaluate: bool, jobs: int | None) -> None:
    """Ingest a JSON Lines file of records (streamed, constant memory)."""
    from rules.service import reevaluate_after_ingest

    session = open_session(settings)
    ingestor = Ingestor(session, today=today(settings.timezone), id_key=settings.id_hash_key)
    size = file.stat().st_size
    if jobs is None:
        cpus = os.cpu_count() or 1
        jobs = cpus if cpus > 1 and size >= _PARALLEL_FROM_BYTES else 0
    check = functools.partial(check_lines, today=ingestor.today, id_key=ingestor.id_key)
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=size, unit="B", unit_scale=True, desc="import", file=sys.stderr)
    with file.open("rb") as handle:
        for checked, offset in _checked_chunks(handle, ingestor.chunk_size, jobs, check):
            ingestor.store(checked)
            session.commit()  # each chunk is durable on its own: a crash loses no finished chunk
            if bar is not None:
                bar.update(offset - bar.n)
    report = ingestor.report
    if bar is not None:
        bar.close()
    if refresh_statistics(session, report.accepted + report.new_versions):
        session.commit()
    evaluated = {} if no_evaluate else reevaluate_after_ingest(session, report, settings)
    session.commit()
    session.close()
    _print_summary(file, report, evaluated)
    if report.rejected:
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=int, help="gunicorn worker processes (default BLACKLIST_WORKERS or 2)")
@click.option("--threads", type=int, help="threads per worker (default BLACKLIST_THREADS or 4)")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the API and pages with gunicorn."""
    from cli.serving import run_gunicorn

    engine = make_engine(settings.database_url)
    require_schema(engine)
    require_id_key(engine, settings)
    engine.dispose()
    require_calendar(settings)
    run_gunicorn(settings, host, port, workers or settings.workers, threads or settings.threads)
