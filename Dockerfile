# syntax=docker/dockerfile:1
#
# One image for every infoshare process: web (gunicorn), worker and beat (Celery) and the
# one-shot `infoshare db upgrade`. docker-compose.yml chooses the command per service.
#
# Two stages: the first builds the wheel from the source tree; the second installs that
# wheel (templates, static files and migrations are inside it) into a clean image, so the
# image runs exactly what a school platform installing the wheel would run. No source tree,
# no editable install.

FROM python:3.11.13-slim-bookworm AS wheel

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN pip install build==1.6.1
COPY pyproject.toml README.md LICENSE ./
COPY infoshare_workflow ./infoshare_workflow
RUN python -m build --wheel --outdir /dist


FROM python:3.11.13-slim-bookworm

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

# Dependencies first, from pyproject.toml alone (every one pinned there), so a code change
# does not reinstall them.
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt /tmp/pyproject.toml

# Then the product itself, from the wheel the first stage built.
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-deps /tmp/dist/*.whl \
 && rm -r /tmp/dist \
 && cd / && python -c "import infoshare_workflow.service.app as a; assert (a.TEMPLATES / 'pages' / 'base.html').is_file()"

USER infoshare
WORKDIR /var/lib/infoshare

EXPOSE 5000

# Nothing runs without settings; docker-compose.yml gives each service its command.
CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "4", "--worker-class", "gthread", "--threads", "4", \
     "--access-logfile", "-", "--logger-class", "infoshare_workflow.monitoring.log_redaction.GunicornLogger", \
     "infoshare_workflow.wsgi:app"]
