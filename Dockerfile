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
EXPOSE 8000
CMD ["gunicorn", "--config", "scheduler/gunicorn_conf.py", "scheduler.wsgi:application"]
