# hotline111: the service image (docs/operations.md).
#   docker build -t hotline111 .
# Built from this tree: the package as a wheel, the rules, policy and geography in /app/config.
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY intake intake
COPY channels channels
COPY triage triage
COPY routing routing
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOTLINE_CONFIG_DIR=/app/config \
    HOTLINE_VAR_DIR=/var/lib/hotline111 \
    HOTLINE_PRODUCTION=true
# pg_dump and pg_restore for `hotline111 backup` and `restore` (Debian's client is 15:
# compose.yaml runs PostgreSQL 15 so that the two match).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10111 --home-dir /var/lib/hotline111 --create-home hotline
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config /app/config
USER hotline
WORKDIR /var/lib/hotline111
EXPOSE 8111
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8111/healthz', timeout=4).status != 200)"]
CMD ["hotline111", "serve", "--host", "0.0.0.0", "--port", "8111"]
