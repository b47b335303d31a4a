"""Helpers shared by the tests: a consent driver that answers the page as a browser form would."""
