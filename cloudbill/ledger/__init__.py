"""Double-entry, append-only, idempotent journal of every movement of money."""
