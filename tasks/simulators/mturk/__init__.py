"""An offline simulator of the MTurk requester API subset Relabel uses (see server.py)."""
