"""Offline crowd platforms: one folder per platform (mturk/, ...), and simulated annotators that
answer through the real submission service (annotators.py)."""
