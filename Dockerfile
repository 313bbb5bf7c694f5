# The tracker image: `docker compose up` builds it and runs its workers (and the
# one-off `tracker db upgrade` before them); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they
# change, not on every change to the code. The postgresql extra brings psycopg 3 with
# its own libpq (no system packages needed).
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgresql']))" \
    > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

# Then the package itself, as a regular (not editable) install without dependencies;
# the default field mapping is package data. The sources are removed afterwards.
COPY README.md ./
COPY tracker ./tracker
RUN pip install --no-deps . && cd / && rm -rf /src \
    && useradd --create-home --uid 1000 tracker \
    && mkdir -p /srv/tracker && chown tracker /srv/tracker

USER tracker
WORKDIR /srv/tracker
# No configuration is built in: it is mounted at /config (docker-compose.yml). The
# SQLite database (solo), the field models and the digests live in the volume at
# /srv/tracker.
ENV TRACKER_CONFIG=/config/tracker.toml \
    TRACKER_DATA_DIR=/srv/tracker/data \
    TRACKER_DIGESTS_DIR=/srv/tracker/digests
VOLUME ["/srv/tracker"]
ENTRYPOINT ["tracker"]
CMD ["run"]
