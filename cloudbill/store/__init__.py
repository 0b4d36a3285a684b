"""Schema, migrations, engine and transactions (SQLite embedded, PostgreSQL in production)."""
