"""Operator routes: the provider's staff manage customers, catalog, resources and money."""
