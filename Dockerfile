FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Build-time placeholders only: collectstatic needs settings to load with DEBUG off so the
# hashed, compressed files production serves are the ones built here.
RUN DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.db \
    REDIS_URL=redis://build:6379/0 \
    FIELD_ENCRYPTION_KEYS=$(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
    python manage.py collectstatic --noinput
# Every process runs as an unprivileged user; it owns nothing in /app but can write /tmp.
RUN useradd --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app \
    && mkdir -p /sandbox-ca && chown 10001:10001 /sandbox-ca
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["bin/docker-entrypoint"]
CMD ["web"]
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=5 CMD ["bin/healthcheck", "web"]
