# pmbot: the same `make run` as the README's Quick start, in a slim image as a non-root user.
# Mount your own knowledge over /app/knowledge and keep /app/data for the database:
#   docker run -e DISCORD_TOKEN=... -v ./knowledge:/app/knowledge -v pmbot-data:/app/data pmbot
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 pmbot \
 && mkdir -p /app/data \
 && chown -R pmbot:pmbot /app

WORKDIR /app
COPY --chown=pmbot:pmbot . /app
USER pmbot
RUN make install

ENV PMBOT_KNOWLEDGE=/app/knowledge \
    PMBOT_DATABASE=/app/data/pmbot.sqlite3 \
    PYTHONUNBUFFERED=1
VOLUME ["/app/knowledge", "/app/data"]

CMD ["make", "run"]
