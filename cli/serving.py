"""gunicorn, run in-process with our application factory."""

from __future__ import annotations

from typing import Any

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

        return create_app(self.settings)


class RedactingLogger(Logger):  # type: ignore[misc]
    """Access lines with identity-number-shaped strings masked, whatever a client sent."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


def run_gunicorn(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    options = {
        "bind": f"{host}:{port}", "workers": workers, "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": "-", "timeout": 120, "graceful_timeout": 10,
        # Access lines carry the path only: identity numbers never travel in URLs.
        "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
        "logger_class": RedactingLogger,
    }
    _App(settings, options).run()
