# pmbot on Discord, as a non-root user that cannot change its own code.
#
#   docker build -t pmbot .
#   docker run -d --name pmbot -e DISCORD_TOKEN=... \
#     -v pmbot-knowledge:/app/knowledge -v pmbot-data:/app/data -p 127.0.0.1:8080:8080 pmbot
#
# /app/knowledge is the writable knowledge folder (/kb upload and rollback write there, edits on disk are
# reloaded): a new named volume starts as a copy of the bundled knowledge, and a later image's files replace
# the ones nobody edited there at its first start; a bind mount (-v ./knowledge:...) must be writable by uid
# 10001 for uploads. /app/data holds the database and the index cache of what the container builds itself;
# what a start on the bundled knowledge reads is built into the image (see below).
# Without DISCORD_TOKEN the container exits 1 and says so (the console chat needs `docker run -it ... run`).

FROM python:3.11-slim AS build
# Dependencies first, pinned with hashes (requirements.lock, made by `make lock`): this layer is
# rebuilt only when the lock changes, not on every code change.
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/pmbot \
 && /opt/pmbot/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/requirements.lock
# Then the code: a regular install (not editable, no dev extras), dependencies untouched, built with
# the lock's setuptools (no build isolation: nothing unpinned is fetched).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY knowledge ./knowledge
COPY bot ./bot
RUN /opt/pmbot/bin/pip install --no-cache-dir --no-deps --no-build-isolation . \
 && /opt/pmbot/bin/python -m compileall -q /opt/pmbot/lib
# What a start on the bundled knowledge builds (the prepared model, the phrasings' vectors, both classifiers),
# built once here: a new container then starts in under a second, where an empty cache costs ~35 s of CPU and
# a ~650 MB peak. Read-only at run time (PMBOT_READONLY_CACHE_DIR); what a container builds beyond it (after a
# teach or an edit) goes to /app/data/cache. About 90 MB of the image.
RUN PMBOT_CACHE_DIR=/opt/pmbot/cache OPENBLAS_NUM_THREADS=1 /opt/pmbot/bin/pmbot warm-cache

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 pmbot
# Owned by root: the runtime user can read and run the code, never change it.
COPY --from=build /opt/pmbot /opt/pmbot
RUN mkdir -p /app/data \
 && cp -rL /opt/pmbot/lib/python3.11/site-packages/bot/bundled_knowledge /app/knowledge \
 && chown -R pmbot:pmbot /app

ENV PATH=/opt/pmbot/bin:$PATH \
    PMBOT_KNOWLEDGE=/app/knowledge \
    PMBOT_DATABASE=/app/data/pmbot.sqlite3 \
    PMBOT_CACHE_DIR=/app/data/cache \
    PMBOT_READONLY_CACHE_DIR=/opt/pmbot/cache \
    PMBOT_HEALTH_PORT=8080 \
    PMBOT_HEALTH_HOST=0.0.0.0 \
    OPENBLAS_NUM_THREADS=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER pmbot
VOLUME ["/app/knowledge", "/app/data"]
EXPOSE 8080

# 200 only while connected to Discord with knowledge loaded (see README, Health and metrics).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PMBOT_HEALTH_PORT'], timeout=4)"]

# tini is PID 1: it passes SIGTERM on to pmbot (which stops cleanly with exit 0) and reaps zombies.
ENTRYPOINT ["/usr/bin/tini", "--", "pmbot"]
CMD ["run"]
