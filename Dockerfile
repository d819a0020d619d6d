# The app image the k8s manifests run; daprd runs beside it as the injected sidecar.
FROM python:3.11-slim
WORKDIR /srv
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY telemetry telemetry
COPY domain domain
COPY actors actors
COPY api api
COPY subscriptions subscriptions
COPY persistence persistence
COPY service service
COPY devstack devstack
RUN pip install --no-cache-dir --no-deps .
USER 10001
EXPOSE 8007
# SERVICE_HOST/SERVICE_PORT: the pod sets the host its sidecar reaches (k8s/deployment.yaml).
CMD ["python", "-m", "service"]
