"""Fees -> packages, coupons, cash, credit, debt: the hourly settlement."""
