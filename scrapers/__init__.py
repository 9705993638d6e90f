"""Fetching and parsing: a polite HTTP client and one parse-only adapter per source kind.

``scrapers.http`` owns politeness (robots.txt, per-host delay, retries, size caps);
``scrapers.parse`` turns ``(bytes_or_text, url)`` into ads and never fetches;
``scrapers.collect`` drives configured sources into the store; ``scrapers.archive`` exports
and verifies evidence.
"""
