"""Cost analysis: original and amortized costs of a customer's fee records, by day or month."""
