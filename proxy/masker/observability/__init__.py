"""Observability for the proxy: metrics, traces, JSON logs and the tamper-evident audit log.

Each concern is its own module so a caller pays only for what it imports (``masker audit verify``
must not import prometheus-client or OpenTelemetry). Nothing is re-exported here on purpose.

    metrics.py     Prometheus registry with the published metric names, and its HTTP server
    tracing.py     OpenTelemetry tracer, a span per pipeline stage, W3C context to the upstream
    logging.py     JSON logs on stdout with a request id and a PHI-scrubbing filter
    stages.py      per-request stage clock feeding metrics, audit timings and spans at once
    audit.py       HMAC-chained JSONL audit log with daily rotation, and its verifier
    audit_cli.py   ``masker audit verify <dir-or-files>``

How the HTTP gateway calls each of them is written down in ``docs/observability.md`` ("Wiring").
"""
