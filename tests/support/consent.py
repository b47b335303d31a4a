"""Sign-in as a client's browser and the owner go through it; it lives in bench/support/consent.py (shared)."""

from bench.support.consent import answer_consent, collect, match_code, open_waiting_page, query_of, wait_for_answer

__all__ = ["answer_consent", "collect", "match_code", "open_waiting_page", "query_of", "wait_for_answer"]
