"""Customer notices: outbox events and deadline reminders become emails and SMS messages,
rendered from templates the operator can replace, delivered with retries (see README)."""
