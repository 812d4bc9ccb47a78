# nerve-cds service image: gunicorn via `nerve-cds serve`, PostgreSQL driver included.
FROM python:3.11.11-slim
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY cds_service ./cds_service
COPY cards ./cards
COPY fixtures ./fixtures
# /app writable by the service user: the default SQLite feedback file is created there.
RUN pip install --no-cache-dir -c constraints.txt '.[postgres]' && useradd --system nerve && chown nerve /app
USER nerve
EXPOSE 8080
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz')"
CMD ["nerve-cds", "serve", "--port", "8080", "--workers", "2"]
