"""Customers: profiles, payment mode, top-ups, withdrawals, freeze, and the overview figures."""
