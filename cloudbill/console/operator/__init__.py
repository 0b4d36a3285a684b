"""The operator console's pages."""

from . import customers, operations

ROUTERS = [customers.router, operations.router]
