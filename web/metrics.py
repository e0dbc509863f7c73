"""/metrics in the Prometheus text format: requests by endpoint and status, latency,
eligibility verdicts. Per process; with several gunicorn workers set
PROMETHEUS_MULTIPROC_DIR so prometheus_client aggregates them."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY_KEY = "blacklist_metrics"


def init_app(app: Flask) -> None:
    registry = CollectorRegistry()
    requests_total = Counter("blacklist_http_requests_total", "HTTP requests", ["endpoint", "method", "status"],
                             registry=registry)
    latency = Histogram("blacklist_http_request_seconds", "request latency", ["endpoint"], registry=registry,
                        buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
    app.extensions[REGISTRY_KEY] = registry

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        requests_total.labels(endpoint, request.method, str(response.status_code)).inc()
        if "started" in g:
            latency.labels(endpoint).observe(time.perf_counter() - g.started)
        return response

    @app.route("/metrics")
    def metrics() -> Response:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return Response(generate_latest(merged), mimetype=CONTENT_TYPE_LATEST)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
