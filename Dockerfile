# nerve-cds service image: gunicorn via `nerve-cds serve`, PostgreSQL driver included.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY cards ./cards
COPY fixtures ./fixtures
RUN pip install --no-cache-dir '.[postgres]' && useradd --system nerve
USER nerve
EXPOSE 8080
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz')"
CMD ["nerve-cds", "serve", "--port", "8080", "--workers", "2", "--threads", "4"]
