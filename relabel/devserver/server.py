"""runserver's WSGI server with TCP_NODELAY on every accepted connection.

Python's wsgiref handler writes a response in several small writes (status line, Date, Server, the other
headers, the body), each straight to the socket. With Nagle's algorithm on, the second write waits until
the client acknowledges the first, and browsers delay that acknowledgement by up to 40 ms on a keep-alive
connection: every HTML page and JSON answer of the demo server took ≈ 40 ms longer than it needed
(python/cpython#108736). gunicorn, the deployed server, sets TCP_NODELAY itself.
"""

import socket

from django.core.servers.basehttp import WSGIServer


class NoDelayWSGIServer(WSGIServer):
    """Django's development WSGI server; each accepted connection sends its writes at once."""

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address
