# Production image for web, Celery worker and Celery beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LIMS_ENV=production \
    PORT=8000

WORKDIR /app
RUN groupadd --system --gid 10001 lims \
    && useradd --system --uid 10001 --gid lims --home-dir /app --shell /usr/sbin/nologin lims

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The Japanese catalogues are built, not committed (.po -> .mo; polib, as gettext is not in the image).
RUN pip install polib==1.2.0 && python scripts/makemessages.py --compile && pip uninstall -y polib
# Settings refuse to load in production without these; they are build-time
# placeholders for collectstatic only (no database is contacted) and are not
# kept in the image's environment.
RUN SECRET_KEY=collectstatic-placeholder-not-a-secret \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://placeholder@localhost/placeholder \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown -R lims:lims /app/var

USER lims
EXPOSE 8000
CMD ["gunicorn", "lims.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--no-control-socket"]
