"""The operator console's pages."""

from . import catalog, clock_audit, customers, deliveries, running

ROUTERS = [
    customers.router,
    running.router,
    deliveries.router,
    catalog.router,
    clock_audit.router,
]
