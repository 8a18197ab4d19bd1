"""The third door to the stored images: nginx in front of gunicorn, configured from this site's settings.

Under annotator load most requests are images (a CONTAINS page makes the browser fetch 48 tiles), and even
on annotation.media's fast path gunicorn's own work per request (≈ 0.4 ms of CPU) is what they cost.
nginx answers them for a small part of that. `nginx_config` writes a complete nginx.conf in which nginx
answers a GET or HEAD of an allow-listed image under a plain name, for an allowed host, from MEDIA_ROOT and
with the headers annotation.media gives images (`image_headers`, the site headers, HSTS over HTTPS), and
hands everything else to gunicorn: other names and types, missing files, other methods, hosts not in
ALLOWED_HOSTS, plain-HTTP requests that SECURE_SSL_REDIRECT must redirect. Every refusal stays Django's
(tests/annotation/test_media_proxy.py runs nginx and compares it with Django's answers).

nginx adds one hop to X-Forwarded-For: set RELABEL_TRUSTED_PROXY_COUNT one higher than without it.
"""

import re

from django.conf import settings

from annotation.imagefiles import CONTENT_TYPES
from annotation.media import (
    PLAIN_NAME_PATTERN,
    URL_PREFIX,
    hsts_header,
    image_headers,
    media_allowed_hosts,
    media_fast_path_enabled,
    site_headers,
)
from relabel import gunicorn_conf

UPSTREAM = "relabel_web"
_PASS_ON = f"        location / {{ proxy_pass http://{UPSTREAM}; }}"
_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_config(
    upstream: str, listen: str, *, pid: str = "/run/relabel-nginx.pid", error_log: str = "stderr",
    access_log: str = "off", user: str | None = None, temp_dir: str | None = None,
) -> str:
    """A complete nginx.conf (`nginx -c FILE`): images from MEDIA_ROOT, everything else to gunicorn at `upstream`.

    `listen` and `upstream` are nginx addresses (`8080`, `127.0.0.1:8080`; `127.0.0.1:8000`, `web:8000`).
    `temp_dir` holds nginx's buffers of large bodies instead of its compiled-in paths (which need root).
    """
    lines = [
        "# Written by `python manage.py nginx_config` from this site's settings: write it again after changing them.",
        "# nginx answers stored images itself (annotation/media_proxy.py) and hands every other request to gunicorn.",
        *([f"user {user};"] if user else []),
        "worker_processes auto;",
        f"pid {_quoted(pid)};",
        f"error_log {_quoted(error_log)} warn;",
        "events { worker_connections 4096; }",
        "http {",
        f"    access_log {'off' if access_log == 'off' else _quoted(access_log)};",
        "    server_tokens off;",
        "    sendfile on;",
        "    tcp_nopush on;",
        "    tcp_nodelay on;",
        f"    keepalive_timeout {gunicorn_conf.keepalive}s;",  # browsers keep a connection as long as without nginx
        "    client_max_body_size 64m;",
        # Idle connections to gunicorn are dropped before gunicorn drops them (WEB_KEEPALIVE), never reused after.
        f"    upstream {UPSTREAM} {{ server {upstream}; keepalive 64; keepalive_timeout {_upstream_idle()}s; }}",
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $http_host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        *(f"    {kind}_temp_path {_quoted(f'{temp_dir}/{kind}')};" for kind in _TEMP_PATHS if temp_dir),
        *_secure_maps(),
        *_servers(listen),
        "}",
    ]
    return "\n".join(lines) + "\n"


def _upstream_idle() -> int:
    return max(1, gunicorn_conf.keepalive - 1)


def _secure_maps() -> list[str]:
    """$relabel_secure (1 over HTTPS, as Django's request.is_secure() decides it) and the HSTS header's value."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        variable = "$http_" + header.removeprefix("HTTP_").lower()
        # Django reads the first comma-separated value of the header, or the scheme when the header is absent.
        first_value = _regex_quoted(rf"~^\s*{re.escape(secure_value)}\s*(,|$)")
        return [
            f'    map {variable} $relabel_secure {{ "" $relabel_scheme_secure; {first_value} 1; default 0; }}',
            "    map $scheme $relabel_scheme_secure { https 1; default 0; }",
            *_hsts_map(),
        ]
    return ["    map $scheme $relabel_secure { https 1; default 0; }", *_hsts_map()]


def _hsts_map() -> list[str]:
    value = hsts_header()
    return [f'    map $relabel_secure $relabel_hsts {{ 1 {_quoted(value)}; default ""; }}'] if value else []


def _servers(listen: str) -> list[str]:
    """The allowed hosts' server, which answers images; the default server hands other hosts to Django (400)."""
    hosts = media_allowed_hosts()
    pass_on = _server(f"{listen} default_server", None, [_PASS_ON])
    if not hosts or not media_fast_path_enabled():
        return pass_on
    if "*" in hosts:
        return _server(f"{listen} default_server", "_", _media_locations())
    return [*pass_on, *_server(listen, " ".join(_quoted(host) for host in hosts), _media_locations())]


def _server(listen: str, names: str | None, body: list[str]) -> list[str]:
    return ["    server {", f"        listen {listen};", *([f"        server_name {names};"] if names else []), *body,
            "    }"]


def _media_locations() -> list[str]:
    extensions = "|".join(sorted(ext.removeprefix(".") for ext in CONTENT_TYPES))
    name_pattern = f"^/{URL_PREFIX}(?<relabel_name>{PLAIN_NAME_PATTERN}\\.(?:{extensions}))$"
    types = " ".join(f"{content_type} {ext.removeprefix('.')};" for ext, content_type in sorted(CONTENT_TYPES.items()))
    headers = {**image_headers(content_type="", etag=""), **site_headers()}  # nginx writes those two itself
    return [
        _PASS_ON,
        f"        location @django {{ proxy_pass http://{UPSTREAM}; }}",
        f"        location ~* {_regex_quoted(name_pattern)} {{",
        f'            alias "{_setting_text(str(settings.MEDIA_ROOT).rstrip("/"))}/$relabel_name";',
        f"            types {{ {types} }}",
        "            default_type application/octet-stream;",
        "            # Missing files, directories, other methods, plain HTTP to redirect: Django answers.",
        "            error_page 403 404 405 418 = @django;",
        r"            if ($request_method !~ ^(GET|HEAD)$) { return 418; }",
        *(["            if ($relabel_secure = 0) { return 418; }"] if settings.SECURE_SSL_REDIRECT else []),
        *(f"            add_header {name} {_quoted(value)};" for name, value in headers.items() if value),
        *(["            add_header Strict-Transport-Security $relabel_hsts;"] if hsts_header() else []),
        "        }",
    ]


def _quoted(value: str) -> str:
    return f'"{_setting_text(value)}"'


def _setting_text(value: str) -> str:
    """A setting inside an nginx string: `$` refused (nginx would read a variable), quotes escaped."""
    if "$" in value:
        raise ValueError(f"{value!r} contains '$', which nginx would read as a variable: remove it from the setting")
    return _escaped(value)


def _regex_quoted(value: str) -> str:
    """A regex as an nginx string (nginx reads no variables in a location's or a map's regex)."""
    return f'"{_escaped(value)}"'


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
