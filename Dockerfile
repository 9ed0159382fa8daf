# One image for the four services; docker-compose.yml picks the service by command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app
WORKDIR /app

COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt

COPY shared ./shared
COPY services ./services
COPY siaga ./siaga

# var/ holds the Kannel bridge's state (a volume in docker-compose.yml), so it belongs to the service user.
RUN useradd --system --uid 10001 siaga && mkdir -p /app/var && chown siaga /app/var
USER siaga

# e.g. `nameko run --config services/reports/config.yml services.reports.service`
CMD ["python", "-m", "siaga.declare"]
