"""Post-paid monthly bills: closing, due dates, overdue, and repayment oldest bill first."""
