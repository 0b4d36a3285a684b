"""Expenditure records: one row per movement of billed money (hourly fees, order payments and
refunds, operator adjustments), written with the ledger transaction it describes."""
