"""Console users: people who sign in to the web console (customers' users and the provider's
operator users), their passwords, invitations, lockout and sessions."""
