#!/bin/sh
# install-utask.sh: lays out a deployer's repository for µTask for Python (reference §12.1).
#
#   sh install-utask.sh [--image IMAGE] [--force] [DIRECTORY]
#
# The folder is meant to become the deployer's own git repository: task templates, functions, scripts and
# action plugins, built into an image derived FROM the µTask for Python base image (default
# utask-python:0.1.0; --image or $UTASK_IMAGE to change it).
#
# Running it again is harmless: files already as this script writes them are left alone. A file that
# differs (edited by the deployer, or written for another --image) is never overwritten unless --force
# is given; without it the script lists the conflicts and changes nothing at all.
set -eu

DEFAULT_IMAGE=utask-python:0.1.0

usage() {
    cat <<'USAGE'
usage: install-utask.sh [--image IMAGE] [--force] [DIRECTORY]

Lays out a µTask for Python deployment repository in DIRECTORY (default: the current directory):
templates/ (with a working example), functions/, scripts/, plugins/, a Dockerfile deriving from the base
image, docker-compose.yaml, Makefile, .gitignore, .dockerignore and README.md.

  --image IMAGE   base image the Dockerfile derives FROM (default: $UTASK_IMAGE, else utask-python:0.1.0)
  --force         overwrite files that differ from what this script writes
  -h, --help      this help
USAGE
}

die() {
    printf 'install-utask.sh: %s\n' "$*" >&2
    exit 1
}

force=0
target=.
image=${UTASK_IMAGE:-$DEFAULT_IMAGE}
while [ $# -gt 0 ]; do
    case $1 in
        -f | --force) force=1 ;;
        --image)
            [ $# -ge 2 ] || die "--image needs a value"
            shift
            image=$1
            ;;
        --image=*) image=${1#--image=} ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) target=$1 ;;
    esac
    shift
done

# The image name is substituted into the Dockerfile and Makefile with sed: refuse anything that is not a
# plain image reference rather than quote it.
case $image in
    '' | *[!A-Za-z0-9._:/@-]*) die "invalid image reference '$image'" ;;
esac

staging=$(mktemp -d "${TMPDIR:-/tmp}/install-utask.XXXXXX")
trap 'rm -rf "$staging"' EXIT
trap 'exit 130' INT TERM

# emit PATH: the content of PATH (relative to the target) is read from standard input.
emit() {
    mkdir -p "$staging/$(dirname "$1")"
    cat >"$staging/$1"
}

emit templates/hello-world.yaml <<'EOF'
# Runs on a fresh install: only the builtin `echo` action is needed.
# Anyone may create it and it runs at once (auto_runnable + allow_all_resolver_usernames).
name: hello-world
description: Say hello to someone, the smallest complete µTask template
long_description: |
  Two echo steps: the first builds a greeting from the `name` input, the second repeats it
  unless a skip condition prunes it (when `shout` is false). The task result gathers both.
title_format: "Say hello to {{.input.name}}"
auto_runnable: true
allow_all_resolver_usernames: true
inputs:
  - name: name
    description: Who to greet
    regex: "^[A-Za-z][A-Za-z '-]{0,63}$"
    default: world
  - name: shout
    description: Also shout the greeting
    type: bool
    default: true
steps:
  greet:
    description: Build the greeting
    action:
      type: echo
      configuration:
        output:
          message: "Hello {{.input.name}}!"
  shout:
    description: Shout it (skipped when shout is false)
    dependencies: [greet]
    conditions:
      - type: skip
        if:
          - value: "{{.input.shout}}"
            operator: EQ
            expected: "false"
        then:
          this: PRUNE
        message: "no shouting today"
    action:
      type: echo
      configuration:
        output:
          message: '{{ upper .step.greet.output.message }}'
result_format:
  greeting: "{{.step.greet.output.message}}"
  shout: "{{.step.shout.state}}"  # DONE, or PRUNE when skipped
EOF

: | emit functions/.gitkeep
: | emit scripts/.gitkeep

emit plugins/README.md <<'EOF'
# Action plugins

Every folder here holding a `pyproject.toml` is an action plugin distribution: the Dockerfile installs each
one into the server's virtualenv, and `make check` runs its tests.

Scaffold a new one (the action `type` is a lower-case identifier):

    make plugin NAME=my_action                  # runs `utask plugin new my_action` in the base image
    utask plugin new my_action -o plugins       # the same, where `utask` is installed

This creates `plugins/utask-plugin-my-action/`: the plugin class (built on `utask-sdk` alone), its
`utask.plugins` entry point, and tests that run it through the real sandbox. Use it in a template with
`action: {type: my_action, configuration: {message: "..."}}`.
EOF

emit Dockerfile <<'EOF'
# This deployment's image: the µTask for Python base image plus this repository's plugins, templates,
# functions and scripts. `make build` builds it; `make check` builds the `check` stage instead.
ARG UTASK_IMAGE=@UTASK_IMAGE@

FROM ${UTASK_IMAGE} AS image
# root (by uid: hadolint DL3066) only to install into the server's virtualenv and /app, owned by root.
USER 0
# Every folder of plugins/ with a pyproject.toml is a plugin distribution: installed as a regular wheel
# into the server's virtualenv, where the server discovers it through its `utask.plugins` entry point.
COPY plugins/ /tmp/plugins/
# DL3013 (pin versions) cannot apply: these are local folders, versioned by their own pyproject.toml.
# hadolint ignore=DL3013
RUN set -eu; \
    for dir in /tmp/plugins/*/; do \
        if [ -f "${dir}pyproject.toml" ]; then pip install --no-cache-dir "$dir"; fi; \
    done; \
    rm -rf /tmp/plugins; \
    pip check
COPY templates/ /app/templates/
COPY functions/ /app/functions/
COPY scripts/ /app/scripts/
USER 10001:10001
# A template the server would refuse at start-up fails the build instead.
RUN utask templates check /app/templates --functions-path /app/functions

# `make check`: the plugins' own tests, run where they will run (same interpreter, same sandbox).
FROM image AS check
USER 0
RUN pip install --no-cache-dir "pytest>=8,<9"
COPY plugins/ /src/plugins/
USER 10001:10001
RUN set -eu; \
    for dir in /src/plugins/*/; do \
        if [ -d "${dir}tests" ]; then python -m pytest -q -p no:cacheprovider "${dir}tests"; fi; \
    done

FROM image
EOF

emit docker-compose.yaml <<'EOF'
# This deployment with a PostgreSQL, for trying it out: `make up`, then
#   curl -u admin:1234 http://localhost:8081/template
# The passwords and the encryption key below are public: generate your own for anything real
# (docker run --rm --entrypoint python IMAGE -c 'from utask.core.crypto import generate_key_json as g; print(g())').
name: utask

services:
  db:
    image: postgres:16-alpine
    environment:
      POSTGRES_USER: user
      POSTGRES_PASSWORD: pass
      POSTGRES_DB: utask
    volumes:
      - db-data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U user -d utask"]
      interval: 2s
      timeout: 5s
      retries: 30

  utask:
    build:
      context: .
      args:
        UTASK_IMAGE: @UTASK_IMAGE@
    image: my-utask:latest
    depends_on:
      db:
        condition: service_healthy
    ports:
      - "8081:8081"
    environment:
      CONFIGURATION_FROM: env:CFG
      CFG_DATABASE: postgres://user:pass@db/utask?sslmode=disable
      CFG_UTASK_CFG: '{"admin_usernames":["admin"],"application_name":"µTask"}'
      CFG_CALLBACK_CONFIG: '{"base_url": "http://localhost:8081"}'
      CFG_BASIC_AUTH: '{"admin":"1234","resolver":"3456","regular":"5678"}'
      CFG_GROUPS_AUTH: '{"admins":["admin"],"resolvers":["admin","resolver"]}'
      CFG_ENCRYPTION_KEY: '{"identifier":"storage","cipher":"aes-gcm","timestamp":1535627466,"key":"e5c5e8e1d6b84b1fbc52d5e7b8e3d1a2c3b4a5968778695a4b3c2d1e0f1a2b3c"}'
    restart: unless-stopped

volumes:
  db-data:
EOF

emit Makefile <<'EOF'
# make build | make up | make down | make logs | make check | make check-local | make plugin NAME=x
IMAGE ?= my-utask:latest
UTASK_IMAGE ?= @UTASK_IMAGE@
DOCKER ?= docker
# check-local: a `utask` and a Python that have this repository's plugins installed (e.g. a virtualenv).
UTASK ?= utask
PYTHON ?= python3

.PHONY: build up down logs check check-local plugin

build:
<TAB>$(DOCKER) build --build-arg UTASK_IMAGE=$(UTASK_IMAGE) -t $(IMAGE) .

up: build
<TAB>$(DOCKER) compose up -d
<TAB>@echo "µTask: http://localhost:8081 (admin / 1234)"

down:
<TAB>$(DOCKER) compose down

logs:
<TAB>$(DOCKER) compose logs -f utask

# Templates (`utask templates check`, while building) and every plugin's tests, inside the image.
check:
<TAB>$(DOCKER) build --build-arg UTASK_IMAGE=$(UTASK_IMAGE) --target check .

# The same checks without Docker.
check-local:
<TAB>$(UTASK) templates check templates --functions-path functions
<TAB>@set -e; for dir in plugins/*/; do \
<TAB>  if [ -d "$${dir}tests" ]; then echo "== $$dir"; (cd "$$dir" && $(PYTHON) -m pytest -q -p no:cacheprovider tests); fi; \
<TAB>done

# cookiecutter writes a replay file under $HOME: give it a writable one.
plugin:
<TAB>@test -n "$(NAME)" || { echo "usage: make plugin NAME=my_action" >&2; exit 2; }
<TAB>$(DOCKER) run --rm --user "$$(id -u):$$(id -g)" -e HOME=/tmp -v "$(CURDIR)/plugins:/out" $(UTASK_IMAGE) plugin new $(NAME) -o /out
EOF

emit .gitignore <<'EOF'
.venv/
__pycache__/
*.pyc
*.egg-info/
build/
dist/
.pytest_cache/
.env
EOF

emit .dockerignore <<'EOF'
# Only templates, functions, scripts and plugins' sources go into the image.
.git
.venv
**/__pycache__
**/*.pyc
**/*.egg-info
**/build
**/dist
**/.pytest_cache
EOF

emit README.md <<'EOF'
# µTask deployment

This repository holds what this µTask for Python deployment runs: task templates, functions, scripts and
action plugins. They are built into an image derived from the base image `@UTASK_IMAGE@`.

| path | holds |
|---|---|
| `templates/` | task templates (`*.yaml`); `hello-world.yaml` is a working example |
| `functions/` | function definitions (µTask functions: reusable, parameterised actions) |
| `scripts/` | scripts run by the builtin `script` action |
| `plugins/` | action plugins, one Python distribution per folder (see `plugins/README.md`) |
| `Dockerfile` | the derived image: installs every plugin of `plugins/`, copies templates, functions, scripts |
| `docker-compose.yaml` | this image with a PostgreSQL, to try it out locally |

## Commands

    make build                  # docker build: plugins installed, templates checked
    make up                     # build, then start it with PostgreSQL on http://localhost:8081 (admin / 1234)
    make check                  # `utask templates check` and every plugin's tests, in the image
    make check-local UTASK=.venv/bin/utask PYTHON=.venv/bin/python   # the same without Docker
    make plugin NAME=my_action  # scaffold plugins/utask-plugin-my-action

Try the example:

    curl -u admin:1234 -X POST http://localhost:8081/task \
         -d '{"template_name": "hello-world", "input": {"name": "Ada"}}'

## Configuration

The server reads µTask's configuration items from the providers named by `CONFIGURATION_FROM`
(`env:CFG`, `filetree:DIR`, ...): `database`, `encryption-key`, `utask-cfg`, `basic-auth`, `groups-auth`,
`callback-config`. `docker-compose.yaml` shows them as environment variables; its passwords and key
are for local use only. For Kubernetes, mount them as files and use `filetree:` (see the µTask for Python
deployment guide).
EOF

# The image name, and real tabs in the Makefile (kept as a marker above so this script stays readable).
tab=$(printf '\t')
for file in Dockerfile docker-compose.yaml Makefile README.md; do
    sed -e "s|@UTASK_IMAGE@|$image|g" -e "s|<TAB>|$tab|g" "$staging/$file" >"$staging/$file.tmp"
    mv "$staging/$file.tmp" "$staging/$file"
done

# What would change: every staged file, compared with the target's copy.
files=$(cd "$staging" && find . -type f | sed 's|^\./||' | sort)
conflicts=
for file in $files; do
    if [ -e "$target/$file" ] && ! cmp -s "$staging/$file" "$target/$file"; then
        conflicts="$conflicts $file"
    fi
done
if [ -n "$conflicts" ] && [ "$force" -eq 0 ]; then
    printf 'install-utask.sh: these files exist and differ; nothing was changed (use --force to overwrite):\n' >&2
    for file in $conflicts; do
        printf '  %s\n' "$target/$file" >&2
    done
    exit 1
fi

mkdir -p "$target"
for file in $files; do
    if [ -e "$target/$file" ] && cmp -s "$staging/$file" "$target/$file"; then
        printf 'unchanged  %s\n' "$file"
        continue
    fi
    if [ -e "$target/$file" ]; then
        verb=replaced
    else
        verb=created
    fi
    mkdir -p "$target/$(dirname "$file")"
    cp "$staging/$file" "$target/$file"
    printf '%-10s %s\n' "$verb" "$file"
done
printf '\nNext: cd %s && make build && make up (or: make plugin NAME=my_action to scaffold a plugin)\n' "$target"
