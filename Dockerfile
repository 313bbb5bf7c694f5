# The tracker worker image: `docker compose up` builds and runs it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tracker ./tracker
COPY config ./config
RUN pip install -e . && useradd --create-home --uid 1000 tracker \
    && mkdir -p /srv/tracker && chown tracker /srv/tracker
USER tracker
# The config is mounted at /config; the database and digests live in the volume.
ENV TRACKER_CONFIG=/config/tracker.toml \
    TRACKER_DATA_DIR=/srv/tracker/data \
    TRACKER_DIGESTS_DIR=/srv/tracker/digests
VOLUME ["/srv/tracker"]
ENTRYPOINT ["tracker"]
CMD ["run"]
