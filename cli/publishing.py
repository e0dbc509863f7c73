"""Publication commands: publish, scheduler, export, platform-sim."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from blacklist.settings import Settings
from cli import main

# Tuning of the publisher; each option can also come from its BLACKLIST_* variable.
_PUBLISHER_OPTIONS = [
    click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True,
                 envvar="BLACKLIST_PUBLISH_BATCH_SIZE", help="Changes per request."),
    click.option("--timeout", type=click.FloatRange(0.1), default=30.0, show_default=True,
                 envvar="BLACKLIST_PUBLISH_TIMEOUT", help="Seconds to wait for the platform's answer."),
    click.option("--tries", type=click.IntRange(1, 20), default=3, show_default=True,
                 envvar="BLACKLIST_PUBLISH_TRIES", help="Attempts per batch within one run."),
    click.option("--retry-wait", type=click.FloatRange(0), default=0.5, show_default=True,
                 envvar="BLACKLIST_PUBLISH_RETRY_WAIT", help="First wait between those attempts (s)."),
    click.option("--backoff", type=click.FloatRange(0), default=30.0, show_default=True,
                 envvar="BLACKLIST_PUBLISH_BACKOFF", help="First delay before a later run resends (s)."),
    click.option("--backoff-cap", type=click.FloatRange(0), default=3600.0, show_default=True,
                 envvar="BLACKLIST_PUBLISH_BACKOFF_CAP", help="Longest such delay (s)."),
    click.option("--lease", type=click.FloatRange(1), default=120.0, show_default=True,
                 envvar="BLACKLIST_PUBLISH_LEASE", help="Publisher lease on SQLite (s)."),
]


def publisher_options(func: Any) -> Any:
    for option in reversed(_PUBLISHER_OPTIONS):
        func = option(func)
    return func


def _context(settings: Settings, opts: dict[str, Any]) -> Any:
    from scheduler.config import PublisherConfig
    from scheduler.jobs import Context

    config = PublisherConfig(
        url=settings.platform_url, secret=settings.platform_secret, batch_size=opts["batch_size"],
        timeout=opts["timeout"], tries=opts["tries"], retry_wait=opts["retry_wait"],
        retry_wait_max=opts["retry_wait"] * 8, backoff_base=opts["backoff"],
        backoff_cap=opts["backoff_cap"], lease_seconds=max(opts["lease"], opts["timeout"] + 1))
    return Context.build(settings, config)


@main.command()
@publisher_options
@click.pass_obj
def publish(settings: Settings, /, **opts: Any) -> None:
    """Publish what is due now, once, and exit (retry delays are not waited out).

    Exits 1 when a batch was not accepted (it is sent again later, with the same change
    ids) and 75 when another publisher holds the lock."""
    from scheduler.jobs import publish_job

    if not settings.platform_url:
        raise click.UsageError("set BLACKLIST_PLATFORM_URL to the credit platform's address")
    ctx = _context(settings, opts)
    try:
        report = publish_job(ctx, ignore_backoff=True)
    finally:
        ctx.close()
    click.echo(report.summary())
    if report.busy:
        sys.exit(75)  # EX_TEMPFAIL: try again later
    if report.error:
        sys.exit(1)


@main.command("scheduler")
@publisher_options
@click.option("--publish-every", type=click.FloatRange(0.1), default=60.0, show_default=True,
              envvar="BLACKLIST_PUBLISH_EVERY", help="Seconds between publication runs.")
@click.option("--expiry-every", type=click.FloatRange(0.1), default=3600.0, show_default=True,
              envvar="BLACKLIST_EXPIRY_EVERY", help="Seconds between expiry runs.")
@click.option("--deadlines-every", type=click.FloatRange(0.1), default=3600.0, show_default=True,
              envvar="BLACKLIST_DEADLINES_EVERY", help="Seconds between deadline checks.")
@click.pass_obj
def scheduler_(settings: Settings, /, publish_every: float, expiry_every: float, deadlines_every: float,
               **opts: Any) -> None:
    """Run the scheduler process: expiry, deadline watch and publication."""
    import logging

    from scheduler.process import Intervals, run

    logging.getLogger("scheduler").setLevel(logging.INFO)
    run(_context(settings, opts), Intervals(publish_every, expiry_every, deadlines_every))


@main.command()
@click.option("--since", default="0", show_default=True, help="Cursor: export the changes after it.")
@click.option("--format", "fmt", type=click.Choice(("jsonl", "csv", "xlsx")), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default changes-since-CURSOR.FORMAT); the manifest goes beside it.")
@click.pass_obj
def export(settings: Settings, since: str, fmt: str, output: Path | None) -> None:
    """Export changes after a cursor to a file, with a manifest (count and sha256)."""
    from blacklist.db import make_engine, make_sessionmaker
    from scheduler.export import export_changes, manifest_path

    if not since.isdigit():
        raise click.BadParameter("a cursor is a number from a feed page or a manifest's `next`",
                                 param_hint="--since")
    output = output or Path(f"changes-since-{since}.{fmt}")
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine, write=False)() as session:
            manifest = export_changes(session, since=int(since), fmt=fmt, output=output)
    finally:
        engine.dispose()
    click.echo(f"{manifest.count} changes written to {output} (sha256 {manifest.sha256}); "
               f"manifest {manifest_path(output)}; next cursor {manifest.next}")


@main.command("platform-sim")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int, help="0 picks a free port.")
@click.option("--fail-first", default=0, show_default=True, type=int, help="Answer 503 to the first N batches.")
@click.option("--drop-first", default=0, type=int, help="Then store N batches but drop the connection.")
@click.option("--stall-first", default=0, type=int, help="Then store N batches and answer late.")
@click.option("--stall-seconds", default=30.0, type=float, show_default=True)
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path),
              help="Also append each accepted batch to this JSON Lines file.")
@click.option("--secret", envvar="BLACKLIST_PLATFORM_SECRET", help="Check the X-Signature HMAC with it.")
def platform_sim(host: str, port: int, fail_first: int, drop_first: int, stall_first: int,
                 stall_seconds: float, store: Path | None, secret: str | None) -> None:
    """Run a credit-platform simulator (for tests and the demo) until interrupted."""
    from scheduler.platform_sim import Faults, PlatformSimulator, Store

    faults = Faults(fail=fail_first, drop=drop_first, stall=stall_first, stall_seconds=stall_seconds)
    server = PlatformSimulator(host, port, store=Store(path=store, faults=faults), secret=secret)
    click.echo(f"platform simulator listening on {server.url}", nl=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
