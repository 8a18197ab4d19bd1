"""`runserver` as whitenoise wraps it (static files through the middleware), on NoDelayWSGIServer."""

from whitenoise.runserver_nostatic.management.commands.runserver import Command as WhiteNoiseRunserver

from relabel.devserver.server import NoDelayWSGIServer


class Command(WhiteNoiseRunserver):
    server_cls = NoDelayWSGIServer
