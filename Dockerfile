# syntax=docker/dockerfile:1
# The app image the k8s manifests run; daprd runs beside it as the injected sidecar (its own image,
# devstack/sidecar_image.py). Runtime dependencies only, installed from requirements/runtime.lock with
# their hashes; no tests, benchmarks or local-stack code (.dockerignore admits only what is copied).
#
# BASE_IMAGE names Python 3.11 on Debian bookworm by digest, resolved by the release pipeline:
#   docker build --build-arg BASE_IMAGE=python:3.11-slim-bookworm@sha256:<digest> .
# It has no default: a tag alone would build on whatever the tag names that day.
ARG BASE_IMAGE

FROM ${BASE_IMAGE} AS dependencies
RUN python -m venv /venv
COPY requirements/runtime.lock /tmp/runtime.lock
RUN /venv/bin/pip install --no-cache-dir --require-hashes -r /tmp/runtime.lock

FROM ${BASE_IMAGE}
COPY --from=dependencies /venv /venv
WORKDIR /srv
COPY telemetry telemetry
COPY domain domain
COPY persistence persistence
COPY actors actors
COPY api api
COPY subscriptions subscriptions
COPY service service
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8007
# SERVICE_HOST/SERVICE_PORT: the pod sets the host its sidecar reaches (k8s/deployment.yaml).
CMD ["python", "-m", "service"]
