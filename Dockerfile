# syntax=docker/dockerfile:1
# Caretaker operator image: Debian bookworm, Debian's Python 3.11, Debian's Ceph client
# (librados binding + ceph CLI, so both Ceph backends work).
#
# Debian's python3-rados is a binary module built for Debian's /usr/bin/python3 (3.11), so the
# application's virtual environment is made from that interpreter, with
# --system-site-packages to see the binding. Both stages are debian:bookworm-slim: a
# python:3.11 base would only add a second, unused interpreter under /usr/local.
#
#   docker build -t <registry>/caretaker:0.1.0 .
#   tests/integration/test_dockerfile.py lints this file with hadolint (`make test`).

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- builder: wheel of Caretaker, venv with it and its pinned dependencies -------------------
FROM ${DEBIAN_IMAGE} AS builder

ARG PYTHON3_VERSION=3.11.2-1+b1
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3=${PYTHON3_VERSION} \
        python3-venv=${PYTHON3_VERSION} \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# The build tools live in their own venv, never in the application's.
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install pip==25.3 build==1.3.0

WORKDIR /src
COPY pyproject.toml README* ./
# operator/caretaker/crds is a symlink to crds/ (the CRDs ship inside the package).
COPY crds/ crds/
COPY operator/ operator/
RUN /opt/build/bin/python -m build --wheel --outdir /wheels .

# The application venv: Debian's interpreter, system site-packages for the rados binding, no
# pip of its own. The build venv's pip installs the wheel and the dependencies pinned in
# pyproject.toml into it (--ignore-installed: every dependency lands in the venv).
RUN python3 -m venv --without-pip --system-site-packages /opt/caretaker \
    && /opt/build/bin/pip --python /opt/caretaker/bin/python install --ignore-installed \
        /wheels/caretaker-*.whl

# ---- final: runtime only (no build tools, no pip, no build venv) ------------------------------
FROM ${DEBIAN_IMAGE}

ARG CEPH_VERSION=16.2.15+ds-0+deb12u2
ARG PYTHON3_VERSION=3.11.2-1+b1
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates=20230311+deb12u1 \
        ceph-common=${CEPH_VERSION} \
        python3=${PYTHON3_VERSION} \
        python3-rados=${CEPH_VERSION} \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 caretaker \
    && useradd --no-log-init --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin caretaker

COPY --from=builder /opt/caretaker /opt/caretaker

ENV PATH=/opt/caretaker/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# The rados binding and the operator must import with Debian's interpreter.
RUN /opt/caretaker/bin/python -c "import rados, kopf, caretaker.app.runtime" \
    && caretaker --version

LABEL org.opencontainers.image.title="caretaker" \
      org.opencontainers.image.description="Kubernetes operator that keeps Ceph healthy through node maintenance and health policies" \
      org.opencontainers.image.licenses="Apache-2.0"

# 9095: /metrics, 8080: kopf's liveness endpoint (/healthz).
EXPOSE 9095 8080
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["caretaker"]
CMD ["run", "--all-namespaces"]
