"""gunicorn settings of the web process: `gunicorn -c python:relabel.gunicorn_conf`.

Used by scripts/services.sh, docker-compose.yml and bench/bench_load.py, so the benchmarked web is the
deployed one. Sized on the annotator load benchmark (docs/benchmarks.md, "Annotator load"):
threaded workers, because a HIT page makes the browser open up to six connections and most requests
are short image responses; the application is loaded (and warmed up, relabel/wsgi.py) before the
workers fork, so no annotator waits for a worker's first-request set-up; keep-alive long enough for a
browser to fetch a page's images and submit on the same connections.
"""

from relabel.env import env_bool, env_int, env_str

wsgi_app = "relabel.wsgi:application"
bind = [env_str("WEB_BIND", "127.0.0.1:8000")]
workers = env_int("WEB_WORKERS", 3)
worker_class = "gthread"
threads = env_int("WEB_THREADS", 4)
keepalive = env_int("WEB_KEEPALIVE", 5)
preload_app = True
accesslog = env_str("WEB_ACCESS_LOG") or None
errorlog = env_str("WEB_ERROR_LOG", "-")
loglevel = env_str("WEB_LOG_LEVEL", "info")
capture_output = env_bool("WEB_CAPTURE_OUTPUT", False)
