"""gunicorn, run in-process with our application factory."""

from __future__ import annotations

import gc
import socket
from typing import Any

import click
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from blacklist.redact import redact

from blacklist.settings import Settings


class _App(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from web import create_app

        app = create_app(self.settings)
        # What the worker holds from here on (modules, the app, its engines) is never garbage;
        # out of the collector's sight, a 100,000-subject batch's collections take 0.25 s instead
        # of 0.6-1.0 (they scanned all of it again and again), and a check's pauses shrink alike.
        gc.collect()
        gc.freeze()
        return app


class RedactingLogger(Logger):  # type: ignore[misc]
    """Access lines with identity-number-shaped strings masked, whatever a client sent."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


def run_gunicorn(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    # Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
    # connections over them. On one shared socket, whichever worker woke first accepted: wrk's
    # 32 keep-alive connections all went to one worker in one round of ten, and held it (896
    # requests/s against 2,900). Not for port 0, where each worker would get a port of its own.
    reuse_port = workers > 1 and port != 0
    if reuse_port:
        _refuse_if_taken(host, port)
    options = {
        "bind": f"{host}:{port}", "workers": workers, "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": "-", "timeout": 120, "graceful_timeout": 10,
        # Access lines carry the path only: identity numbers never travel in URLs.
        "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
        "logger_class": RedactingLogger, "reuse_port": reuse_port,
    }
    _App(settings, options).run()


def _refuse_if_taken(host: str, port: int) -> None:
    """Stop if anything listens on `host:port`: with SO_REUSEPORT a second deployment started
    there by mistake would silently be handed half of the connections, so bind once without
    it first, as a shared socket would."""
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            try:
                probe.bind(address)
            except OSError as exc:
                raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
