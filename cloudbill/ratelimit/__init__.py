"""Request budgets shared by every API process: per customer, and for failed authentications
per source address and per key. Kept in the database by default, in Redis when configured."""
