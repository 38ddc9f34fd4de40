# syntax=docker/dockerfile:1
# One image for every Vouch process: `vouch api` (default), `vouch worker`, `vouch migrate`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VOUCH_ENV=production \
    VOUCH_HOST=0.0.0.0 \
    VOUCH_PORT=8000

WORKDIR /app
COPY . .

# Editable install on purpose: `vouch migrate` finds alembic.ini and migrations/ beside the
# `shared` package (shared/db/migrate.py), and migrations/ is not part of the wheel, so a
# regular install into site-packages could not migrate. The image holds a single copy of the
# code either way.
RUN --mount=type=cache,target=/root/.cache/pip pip install -e . \
    && python -m compileall -q services shared migrations \
    && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin vouch

USER vouch
EXPOSE 8000
CMD ["vouch", "api"]
