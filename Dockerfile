# µTask for Python: the base image (reference §12.3). Deployers do not edit it: they derive their own
# image FROM it with their templates, functions, scripts and plugins (`install-utask.sh` lays that out).
#
#   docker build -t utask-python:0.1.0 .
#   docker run --rm -p 8081:8081 -e CONFIGURATION_FROM=env:CFG -e CFG_DATABASE=... utask-python:0.1.0
#
# What the plugin sandbox needs from the container runtime, and what it reports when it gets less:
# docs/deployment.md.

ARG PYTHON_VERSION=3.12

# -- builder: wheels are built here, so the runtime stage has no build tools nor sources -----------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the distributions are built from (.dockerignore keeps tests, caches and venvs out).
COPY pyproject.toml setup.py README.md ./
COPY sdk/ sdk/
COPY core/ core/
COPY hostapi/ hostapi/
COPY builtin-plugins/ builtin-plugins/
COPY plugin-template/ plugin-template/
# One virtualenv holds the server, the SDK and every builtin plugin, installed as regular (non-editable)
# wheels; it is copied as a whole into the runtime stage, whose Python lives at the same path.
# The SDK goes first and alone so the server's and plugins' `utask-sdk` requirement resolves to this copy.
RUN python -m venv /opt/utask \
    && /opt/utask/bin/pip install --no-cache-dir ./sdk \
    && /opt/utask/bin/pip install --no-cache-dir . ./builtin-plugins/* \
    && /opt/utask/bin/pip check
# Cached bytecode: start-up and every sandboxed plugin worker import faster. (`utask plugin new` finds its
# cookiecutter scaffold inside the `utask` wheel, as `utask.scaffold`.)
RUN /opt/utask/bin/python -m compileall -q /opt/utask/lib

# -- runtime ------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm
LABEL org.opencontainers.image.title="utask-python" \
      org.opencontainers.image.description="µTask for Python: automation engine driven by YAML task templates" \
      org.opencontainers.image.licenses="BSD-3-Clause"
# A fixed uid/gid: Kubernetes' runAsUser and file ownership on volumes can rely on it.
RUN groupadd --system --gid 10001 utask \
    && useradd --system --uid 10001 --gid utask --home-dir /app --no-create-home --shell /usr/sbin/nologin utask
COPY --from=builder /opt/utask /opt/utask
# Templates, functions and scripts are read-only content owned by root: the server only reads them.
# Derived images COPY theirs over these (empty) defaults, or volumes are mounted on them.
RUN mkdir -p /app/templates /app/functions /app/scripts \
    && chmod 0755 /app /app/templates /app/functions /app/scripts \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/utask
ENV PATH=/opt/utask/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TEMPLATES=/app/templates \
    FUNCTIONS=/app/functions \
    SCRIPTS=/app/scripts \
    SERVER_PORT=8081 \
    LOGS_FORMAT=text \
    UTASK_DATA_DIR=/var/lib/utask
WORKDIR /app
USER 10001:10001
EXPOSE 8081
# The ping route needs no authentication and answers as soon as the API is up (also in maintenance mode).
# python rather than curl/wget: the slim base ships neither, and the interpreter is already there.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/unsecured/mon/ping' % os.environ.get('SERVER_PORT', '8081'), timeout=4).status == 200 else 1)"]
# Without CONFIGURATION_FROM the server runs its development setup: an embedded PostgreSQL and a generated
# key under UTASK_DATA_DIR, listening on 127.0.0.1 only (so `-e SERVER_HOST=0.0.0.0` to try it with -p).
# A bare `utask` serves (like µTask's binary); any other command is a `utask` subcommand:
# `docker run IMAGE migrate`, `docker run IMAGE templates check /app/templates`, `docker run IMAGE plugins`.
ENTRYPOINT ["utask"]
CMD ["serve"]
