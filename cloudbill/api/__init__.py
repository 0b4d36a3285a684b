"""HTTP interfaces: the native REST API (operator now, customer later) and the BSS routes."""
