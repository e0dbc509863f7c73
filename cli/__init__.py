"""The `blacklist` console script: the composition root, the one place that wires
web, scheduler, rules and blacklist together. Each command is a few lines over a service."""

from __future__ import annotations

import logging
import sys

import click

from blacklist.redact import install_log_redaction
from blacklist.settings import Settings


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Work-safety credit blacklist and joint-punishment engine."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    ctx.obj = Settings.from_env()


from cli import backup_cmds, checks, commands, demo, rules_cmds  # noqa: E402,F401  (registers the commands)
from cli import publishing  # noqa: E402,F401  (publish, scheduler, export, platform-sim)
