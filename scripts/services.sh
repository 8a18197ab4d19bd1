#!/usr/bin/env bash
# Run the scale-out topology without Docker on a machine with PostgreSQL and Redis installed:
# gunicorn (web), N Celery workers (default queue + inference queue) and beat, in the background.
#   scripts/services.sh start [N]   # N workers on the default queue (default 2), one on inference
#   scripts/services.sh stop
# Needs DATABASE_URL, CELERY_BROKER_URL and SECRET_KEY (DEBUG=0) or DEBUG=1 in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN=var/run
mkdir -p "$RUN" var/log

start() {
    : "${DATABASE_URL:?set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/relabel}"
    : "${CELERY_BROKER_URL:?set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0}"
    local workers=${1:-2}
    $BIN/python manage.py migrate --noinput
    $BIN/python manage.py collectstatic --noinput -v0
    $BIN/python manage.py load_taxonomy
    # Workers, threads and keep-alive: relabel/gunicorn_conf.py (WEB_WORKERS, WEB_THREADS, WEB_KEEPALIVE).
    WEB_ACCESS_LOG=${WEB_ACCESS_LOG:-var/log/web-access.log} WEB_ERROR_LOG=var/log/web.log \
        $BIN/gunicorn -c python:relabel.gunicorn_conf --daemon --pid "$RUN/web.pid"
    for i in $(seq 1 "$workers"); do
        $BIN/celery -A relabel multi start "default$i" -Q default --pidfile="$RUN/%n.pid" --logfile="var/log/%n.log"
    done
    $BIN/celery -A relabel multi start inference1 -Q inference --pool solo \
        --pidfile="$RUN/%n.pid" --logfile="var/log/%n.log"
    $BIN/celery -A relabel beat --detach --pidfile "$RUN/beat.pid" --logfile var/log/beat.log \
        --schedule var/celerybeat-schedule
    echo "web on http://${WEB_BIND:-127.0.0.1:8000}, $workers default worker(s), 1 inference worker, beat; logs in var/log"
}

stop() {
    for pidfile in "$RUN"/*.pid; do
        [ -e "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
    echo "stopped"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    *) echo "usage: $0 start [N] | stop" >&2; exit 2 ;;
esac
