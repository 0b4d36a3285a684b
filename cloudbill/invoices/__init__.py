"""Invoices: what a customer may invoice, invoice requests and their review, automatic
invoices and credit memos, gapless numbering, immutable documents and their PDF."""
