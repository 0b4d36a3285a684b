"""The operator console's pages."""

from . import customers

ROUTERS = [customers.router]
