# SeatLock production image: slim Python, non-root, static files collected at build, granian.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# WeasyPrint renders the ticket PDFs with Pango and HarfBuzz; DejaVu is the font they use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
       fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes -r requirements/base.txt

RUN groupadd --system seatlock && useradd --system --gid seatlock --home-dir /app --shell /usr/sbin/nologin seatlock

COPY --chown=seatlock:seatlock . .

# collectstatic needs settings that import cleanly; these values exist only for this step.
RUN DEBUG=0 SECRET_KEY=build-only DATABASE_URL=postgresql://build@localhost/build \
    python manage.py collectstatic --no-input -v 0

USER seatlock
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"

CMD ["python", "-m", "config.webserver"]
