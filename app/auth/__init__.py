"""OAuth 2.1 authorization server: metadata, registration, consent, tokens, revocation, bearer checks."""
