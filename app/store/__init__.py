"""SQLite storage: clients, grants, codes, tokens (hashes only) and the activity log."""
