"""Orders: new purchases, renewals, spec changes, unsubscriptions, conversions; payment."""
