"""Enterprise master and member accounts: associations, unified and independent accounting."""
