"""Secrets that must outlive a restart, kept in the OS keyring (never in a plaintext file)."""
