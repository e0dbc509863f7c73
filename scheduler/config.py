"""What the publisher can be tuned with; built once at the edge (the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PublisherConfig:
    """Where and how changes are pushed, and how failures are retried."""

    url: str | None
    secret: str | None = field(default=None, repr=False)
    batch_size: int = 500
    timeout: float = 30.0          # seconds for one HTTP request
    tries: int = 3                 # attempts per batch within one run (tenacity)
    retry_wait: float = 0.5        # first wait between those attempts, doubling, jittered
    retry_wait_max: float = 5.0
    backoff_base: float = 30.0     # delay before the next run may resend, doubling per attempt
    backoff_cap: float = 3600.0
    lease_seconds: float = 120.0   # SQLite lease; renewed before every request

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if self.tries < 1:
            raise ValueError("tries must be at least 1")
        if self.lease_seconds <= self.timeout:
            raise ValueError("the lease must outlast one request (lease_seconds > timeout)")
