"""tests/operator is a package so the ``operator`` fixture can be package-scoped (see _cluster.py)."""
