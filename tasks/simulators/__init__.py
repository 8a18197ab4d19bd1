"""Offline HTTP simulators of crowd platforms (Prolific here; MTurk's lives in tasks/simulator)."""
