# syntax=docker/dockerfile:1
#
# One image for every infoshare process: web (gunicorn), worker and beat (Celery) and the
# one-shot `infoshare db upgrade`. docker-compose.yml chooses the command per service.
#
# The source tree is copied to /app and installed in editable mode on purpose:
# infoshare_workflow/app.py finds the Jinja templates at the parent of the package
# directory (/app/templates). A plain `pip install .` would put the package in
# site-packages, where that path does not exist.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user. Its home (/var/lib/infoshare) is the only place it can write to in
# the image: gunicorn keeps its control socket in ~/.gunicorn, and beat keeps its schedule
# in /var/lib/infoshare/beat (a volume in docker-compose.yml).
RUN groupadd --system --gid 10001 infoshare \
 && useradd --system --uid 10001 --gid infoshare --home-dir /var/lib/infoshare \
        --create-home --shell /usr/sbin/nologin infoshare \
 && install -d -o infoshare -g infoshare -m 0750 /var/lib/infoshare/beat

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Then the project itself (see .dockerignore for what stays out). /app stays owned by root:
# the app user can read the code but not change it.
COPY . .
RUN mkdir -p templates \
 && pip install --no-deps -e . \
 && cd / && python -c "import pathlib, infoshare_workflow.app as a; assert a.TEMPLATES == pathlib.Path('/app/templates'), a.TEMPLATES"

USER infoshare

EXPOSE 5000

# Nothing runs without settings; docker-compose.yml gives each service its command.
CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "4", "--worker-class", "gthread", "--threads", "4", \
     "--access-logfile", "-", "--logger-class", "infoshare_workflow.log_redaction.GunicornLogger", \
     "infoshare_workflow.wsgi:app"]
