"""Usage records in: validated, converted to the pricing unit, deduplicated by record id."""
