"""An offline Prolific: `manage.py prolific_sim`. See server.py for the routes."""
