"""Observability: Prometheus metrics and structured logs. Below every stage (it imports only
the libraries), so any stage can count what it did and log with the request's id."""
