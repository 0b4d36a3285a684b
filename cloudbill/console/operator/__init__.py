"""The operator console's pages."""

from . import catalog, clock_audit, customers, deliveries, enterprise, invoices, running

ROUTERS = [
    customers.router,
    running.router,
    deliveries.router,
    invoices.router,
    enterprise.router,
    catalog.router,
    clock_audit.router,
]
