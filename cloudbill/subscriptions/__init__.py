"""Yearly/monthly subscriptions: expiry, renewal, auto-renew, expire policies, reminders."""
