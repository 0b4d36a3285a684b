"""Events out: the transactional outbox, webhooks, email, SMS, bill exports."""
