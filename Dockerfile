# One image for web, worker and beat. Build the GPU worker with --build-arg EXTRAS=models.
FROM python:3.11-slim
ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RELABEL_VAR_DIR=/var/lib/relabel
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY relabel relabel
COPY annotation annotation
COPY tasks tasks
COPY models_zoo models_zoo
COPY label1000 label1000
COPY analytics analytics
COPY templates templates
COPY static static
COPY demo demo
COPY manage.py ./
RUN pip install --no-cache-dir -c constraints.txt -e ".${EXTRAS:+[$EXTRAS]}" \
    && useradd --system --uid 1000 relabel && mkdir -p /var/lib/relabel && chown relabel /var/lib/relabel
USER relabel
EXPOSE 8000
# Web settings: relabel/gunicorn_conf.py (WEB_WORKERS, WEB_THREADS, WEB_KEEPALIVE), as compose runs it.
ENV WEB_BIND=0.0.0.0:8000 WEB_ACCESS_LOG=-
CMD ["gunicorn", "-c", "python:relabel.gunicorn_conf"]
