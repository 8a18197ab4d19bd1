"""`manage.py runserver` (the demo's server) sends each write of a response at once: TCP_NODELAY on every
connection, so that a response written in pieces is not held back by Nagle's algorithm (≈ 40 ms a response)."""

import socket

from django.core.management import get_commands, load_command_class
from django.core.servers.basehttp import WSGIRequestHandler

from relabel.devserver.server import NoDelayWSGIServer


def test_it_serves_runserver_from_the_no_delay_server_with_whitenoise_serving_static_files():
    command = load_command_class(get_commands()["runserver"], "runserver")
    assert command.server_cls is NoDelayWSGIServer
    assert command.create_parser("manage.py", "runserver").get_default("use_static_handler") is False


def test_it_sets_tcp_nodelay_on_each_accepted_connection():
    server = NoDelayWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    try:
        with socket.create_connection(server.server_address, timeout=5):
            connection, _ = server.get_request()
            with connection:
                assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server.server_close()
