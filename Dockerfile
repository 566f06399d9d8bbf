# NetCanvas in one image: Node builds the frontend, a slim Python image serves it with CPU-only torch.
# Build: docker build -t netcanvas .
# Run:   docker run -p 127.0.0.1:8000:8000 -e NETCANVAS_TOKEN="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" \
#          -v netcanvas-data:/data netcanvas
# The server listens on 0.0.0.0 inside the container, so it needs NETCANVAS_TOKEN: without one it refuses to start
# and says so. Reached under another name than localhost, add that name to NETCANVAS_ALLOWED_HOSTS.

FROM node:20-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    NETCANVAS_HOST=0.0.0.0 NETCANVAS_PORT=8000 \
    NETCANVAS_DATA_DIR=/data NETCANVAS_STATIC_DIR=/app/static
WORKDIR /app
# CPU wheels of torch (the default index would pull the multi-GB CUDA build)
RUN pip install --index-url https://download.pytorch.org/whl/cpu 'torch>=2.4,<2.14'
COPY pyproject.toml README.md ./
COPY backend/ backend/
# with psycopg, the PostgreSQL driver (docker-compose.yml runs the app on a PostgreSQL service);
# --build-arg EXTRAS=postgres,ray adds Ray (the compose file's ray profile)
ARG EXTRAS=postgres
RUN pip install ".[${EXTRAS}]"
COPY --from=frontend /app/frontend/dist /app/static
RUN useradd --create-home --uid 1000 netcanvas && mkdir -p /data && chown netcanvas /data
USER netcanvas
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health')"
CMD ["netcanvas", "serve"]
