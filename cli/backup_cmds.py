"""`blacklist backup FILE` and `blacklist restore FILE`."""

from __future__ import annotations

from pathlib import Path

import click

from blacklist.backup import BackupError, backup, restore
from blacklist.settings import Settings
from cli import main


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup_cmd(settings: Settings, file: Path) -> None:
    """Write a consistent snapshot of the database (SQLite backup API, or pg_dump)."""
    try:
        backup(settings.database_url, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written to {file} ({file.stat().st_size} bytes); keep the signing and id-hash keys "
               "with it, they are not in the database")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@click.pass_obj
def restore_cmd(settings: Settings, file: Path, yes: bool) -> None:
    """Replace the database with a snapshot made by `blacklist backup`."""
    if not yes:
        click.confirm(f"replace the database with {file}?", abort=True)
    try:
        restore(settings.database_url, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored from {file}")
