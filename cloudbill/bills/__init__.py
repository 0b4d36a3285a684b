"""Bills: monthly summaries, fee records, package usage, expenditure trend, CSV export."""
