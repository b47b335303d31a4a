"""Command-line commands; each module is one noun (serve, tokens and clients, configure)."""
