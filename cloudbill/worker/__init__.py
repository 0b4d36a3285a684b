"""Scheduled jobs: settlement (and, as they land, lifecycle, renewals, notifications)."""
