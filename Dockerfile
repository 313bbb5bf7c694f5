# The tracker image: `docker compose up` builds it and runs its workers (and the
# one-off `tracker db upgrade` before them); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tracker ./tracker
COPY config ./config
# The postgresql extra brings psycopg 3 with its own libpq (no system packages needed).
# Editable, so the default config/fields.toml is found beside the package.
RUN pip install -e '.[postgresql]' && useradd --create-home --uid 1000 tracker \
    && mkdir -p /srv/tracker && chown tracker /srv/tracker
USER tracker
# The config is mounted at /config; the SQLite database (solo), the field models and
# the digests live in the volume at /srv/tracker.
ENV TRACKER_CONFIG=/config/tracker.toml \
    TRACKER_DATA_DIR=/srv/tracker/data \
    TRACKER_DIGESTS_DIR=/srv/tracker/digests
VOLUME ["/srv/tracker"]
ENTRYPOINT ["tracker"]
CMD ["run"]
