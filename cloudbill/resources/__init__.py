"""Resources a customer owns, with their status and its history."""
