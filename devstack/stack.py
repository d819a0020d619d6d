"""The whole local stack: PostgreSQL, Redis, placement, scheduler, and one daprd + app per Dapr app."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import yaml

from devstack.processes import ManagedProcess, StackError, free_port, http_ok
from devstack.runfile import RunApp, read_run_file
from devstack.servers import Containers, LocalPostgres, LocalRedis, LocalRedisCluster, docker_engine_answers

log = logging.getLogger("devstack")

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPONENTS_DIR = REPO_ROOT / "components"
SERVICE_APP_ID = "customer-service"
# The control plane's trust domain (sentry, placement, scheduler); apps are in Dapr's default "public".
TRUST_DOMAIN = "localhost"
DAPR_BUILD_SCRIPT = REPO_ROOT / "tools" / "dapr-runtime" / "build.sh"
# How long a stopping daprd finishes the calls it holds (k8s/deployment.yaml's dapr.io/graceful-shutdown-seconds).
DAPR_GRACEFUL_SHUTDOWN_SECONDS = 5


def dapr_bin_dir() -> Path:
    """The pinned Dapr runtime: DAPR_BIN_DIR if set, else what tools/dapr-runtime/build.sh builds or reuses."""
    if configured := os.environ.get("DAPR_BIN_DIR"):
        return Path(configured)
    result = subprocess.run(  # noqa: S603 - our own build script
        ["/usr/bin/env", "bash", str(DAPR_BUILD_SCRIPT)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(f"building the Dapr runtime failed:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class SidecarPorts:
    app: int
    http: int
    grpc: int
    internal_grpc: int
    metrics: int

    @classmethod
    def free(cls, app: int | None = None) -> SidecarPorts:
        return cls(app or free_port(), free_port(), free_port(), free_port(), free_port())


@dataclass(frozen=True)
class DaprApp:
    """One Dapr application: the app process and its daprd sidecar, as an app of dapr.yaml describes it,
    on these ports (the file's own, or free ones for a test stack)."""

    run: RunApp
    ports: SidecarPorts
    # Added to (and overriding) the run file's env for this app.
    app_env: Mapping[str, str] = field(default_factory=dict)
    # Replicas share an app id (Dapr spreads actors and invocations over them); each needs its own processes.
    replica: int = 1

    @classmethod
    def of(cls, run: RunApp, ports: SidecarPorts | None = None, **env: str) -> DaprApp:
        """The run file's app, on the file's ports unless others are given."""
        return cls(run, ports or SidecarPorts(run.app_port, run.dapr_http_port, run.dapr_grpc_port,
                                              run.dapr_internal_grpc_port, run.metrics_port), env)

    @property
    def app_id(self) -> str:
        return self.run.app_id

    @property
    def health_path(self) -> str:
        return self.run.health_path

    @property
    def name(self) -> str:
        """The app process's name (its daprd's is this plus "-daprd")."""
        return self.app_id if self.replica == 1 else f"{self.app_id}-{self.replica}"


@dataclass
class StackConfig:
    data_dir: Path
    postgres_port: int
    redis_port: int
    placement_port: int
    scheduler_port: int
    sentry_port: int
    # Control-plane side ports: healthz, metrics, raft, embedded etcd.
    aux_ports: dict[str, int]
    database_url: str | None = None
    redis_url: str | None = None
    use_containers: bool = False
    # A local three-primary Redis Cluster on these ports instead of one Redis (the cluster tier of the tests:
    # CS_REDIS_CLUSTER=1). The app and every daprd's components are pointed at the cluster.
    redis_cluster_ports: tuple[int, int, int] | None = None
    # One pair for the whole stack: every daprd requires DAPR_API_TOKEN from its callers and sends
    # APP_API_TOKEN to its app.
    dapr_api_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    app_api_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Sentry and mTLS between every daprd and the control plane. Only a benchmark measuring what mTLS
    # costs turns it off (with a configuration that has no access policy: policies need mTLS identities).
    mtls: bool = True
    # Every daprd's configuration instead of the run file's (a benchmark without the access policy).
    dapr_config_override: Path | None = None
    # Upstreams outside the mesh, by the app id the service calls them by: customer-service's daprd gets
    # an HTTPEndpoint of that name, so the same invocation reaches the URL (ORDER_SERVICE_URL, ...).
    upstreams: dict[str, str] = field(default_factory=dict)
    # An OpenTelemetry collector's OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT for scripts/up): every
    # daprd's Configuration exports its spans there, and every app is given it.
    otlp_endpoint: str | None = None

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def dapr_headers(self) -> dict[str, str]:
        """What a caller of this stack's daprd APIs must send."""
        return {"dapr-api-token": self.dapr_api_token}

    @classmethod
    def for_local_run(cls) -> StackConfig:
        """Fixed, uncommon ports below Linux's ephemeral range (32768-60999): a port in that range can be
        held by an outgoing connection's TIME-WAIT socket, and then nothing can listen on it for a minute
        (Dapr's defaults 50005/50006 included)."""
        env = os.environ
        data_dir = Path(env.get("CS_DATA_DIR", REPO_ROOT / ".data" / "local"))
        return cls(
            data_dir=data_dir,
            postgres_port=int(env.get("CS_POSTGRES_PORT", "25432")),
            redis_port=int(env.get("CS_REDIS_PORT", "26379")),
            placement_port=int(env.get("CS_PLACEMENT_PORT", "25005")),
            scheduler_port=int(env.get("CS_SCHEDULER_PORT", "25006")),
            sentry_port=int(env.get("CS_SENTRY_PORT", "25007")),
            aux_ports={
                "placement_healthz": 28081, "placement_metrics": 29091, "placement_raft": 28201,
                "scheduler_healthz": 28082, "scheduler_metrics": 29092,
                "sentry_healthz": 28083, "sentry_metrics": 29093,
                "etcd_client": 22379, "etcd_peer": 22380,
            },
            database_url=env.get("DATABASE_URL"),
            redis_url=env.get("REDIS_URL"),
            upstreams={env.get(f"{name}_APP_ID", default): env[f"{name}_URL"]
                       for name, default in (("ORDER_SERVICE", "order-service"), ("LOYALTY_SERVICE", "loyalty-service"))
                       if env.get(f"{name}_URL")},
            otlp_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            dapr_api_token=env.get("DAPR_API_TOKEN") or _kept_secret(data_dir, "dapr-api-token"),
            app_api_token=env.get("APP_API_TOKEN") or _kept_secret(data_dir, "app-api-token"),
        )

    @classmethod
    def for_tests(cls, data_dir: Path) -> StackConfig:
        """Free ports for everything, so a test run never collides with a local run."""
        names = ["placement_healthz", "placement_metrics", "placement_raft", "scheduler_healthz",
                 "scheduler_metrics", "sentry_healthz", "sentry_metrics", "etcd_client", "etcd_peer"]
        env = os.environ
        database_url, redis_url = env.get("DATABASE_URL"), env.get("REDIS_URL")
        cluster = bool(env.get("CS_REDIS_CLUSTER"))
        return cls(
            data_dir=data_dir,
            postgres_port=free_port(),
            redis_port=free_port(),
            placement_port=free_port(),
            scheduler_port=free_port(),
            sentry_port=free_port(),
            aux_ports={name: free_port() for name in names},
            database_url=database_url,
            redis_url=redis_url,
            use_containers=not (database_url and redis_url) and docker_engine_answers(),
            redis_cluster_ports=(free_port(), free_port(), free_port()) if cluster else None,
        )


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self._postgres = LocalPostgres(config.data_dir, config.log_dir, config.postgres_port)
        self._redis = LocalRedis(config.data_dir, config.log_dir, config.run_dir, config.redis_port)
        self._redis_cluster = None if config.redis_cluster_ports is None else LocalRedisCluster(
            config.data_dir, config.log_dir, config.run_dir, config.redis_cluster_ports)
        self._containers = Containers()
        self.database_url = config.database_url or ""
        self.redis_url = config.redis_url or ""
        self._bin: Path | None = None

    @property
    def local_postgres(self) -> LocalPostgres | None:
        """The project's own PostgreSQL process, if that is what this stack uses (it can be stopped)."""
        if self.config.database_url or self.config.use_containers:
            return None
        return self._postgres

    @property
    def local_redis(self) -> LocalRedis | None:
        """The project's own Redis process, if that is what this stack uses (it can be stopped)."""
        if self.config.redis_url or self.config.use_containers or self._redis_cluster is not None:
            return None
        return self._redis

    @property
    def redis_cluster(self) -> bool:
        return self._redis_cluster is not None

    def redis_client(self, **options: Any) -> redis.Redis | redis.RedisCluster:
        """A client of the stack's Redis (or Redis Cluster), for tests and benchmarks to look behind the API."""
        if self._redis_cluster is not None:
            return redis.RedisCluster.from_url(self.redis_url, **options)
        return redis.Redis.from_url(self.redis_url, **options)

    def process(self, name: str) -> ManagedProcess:
        return ManagedProcess(name, self.config.run_dir, self.config.log_dir)

    @property
    def bin_dir(self) -> Path:
        if self._bin is None:
            self._bin = dapr_bin_dir()
        return self._bin

    # -- storage -------------------------------------------------------------------------------
    def start_storage(self) -> None:
        if self._redis_cluster is not None:  # a cluster is always local processes
            self.redis_url = self._redis_cluster.start()
        if self.config.use_containers:
            self.database_url = self.database_url or self._containers.postgres()
            self.redis_url = self.redis_url or self._containers.redis()
            return
        self.database_url = self.database_url or self._postgres.start()
        self.redis_url = self.redis_url or self._redis.start()

    def stop_storage(self) -> None:
        self._containers.stop()
        if self._redis_cluster is not None:
            self._redis_cluster.stop()
        if not self.config.database_url:
            self._postgres.stop()
        if not self.config.redis_url:
            self._redis.stop()

    def migrate(self) -> None:
        from persistence.migrations import apply_migrations

        apply_migrations(self.database_url)

    # -- Dapr control plane ----------------------------------------------------------------------
    @property
    def trust_anchors_file(self) -> Path:
        """Sentry's root certificate, made on its first start (self-hosted mode) and kept with the data."""
        return self.config.data_dir / "sentry" / "ca.crt"

    def mtls_flags(self) -> list[str]:
        """What placement and scheduler need to serve mTLS with identities from sentry."""
        if not self.config.mtls:
            return []
        return ["--tls-enabled", "--trust-anchors-file", str(self.trust_anchors_file),
                "--sentry-address", f"127.0.0.1:{self.config.sentry_port}", "--trust-domain", TRUST_DOMAIN]

    def start_sentry(self) -> None:
        ports = self.config.aux_ports
        credentials = self.trust_anchors_file.parent
        credentials.mkdir(parents=True, exist_ok=True)
        sentry = self.process("sentry")
        sentry.start([
            str(self.bin_dir / "sentry"),
            "--port", str(self.config.sentry_port),
            "--listen-address", "127.0.0.1",
            "--healthz-port", str(ports["sentry_healthz"]),
            "--healthz-listen-address", "127.0.0.1",
            "--metrics-port", str(ports["sentry_metrics"]),
            "--metrics-listen-address", "127.0.0.1",
            "--issuer-credentials", str(credentials),
            "--trust-domain", TRUST_DOMAIN,
            "--config", str(self.config.dapr_config_override or sentry_configuration()),
        ])
        sentry.wait_until(lambda: self.trust_anchors_file.exists()
                          and http_ok(f"http://127.0.0.1:{ports['sentry_healthz']}/healthz"),
                          timeout=60, what="healthy with its root certificate")

    def start_control_plane(self) -> None:
        if self.config.mtls:
            self.start_sentry()
        self.start_placement()
        self.start_scheduler()

    def start_placement(self) -> None:
        ports = self.config.aux_ports
        placement = self.process("placement")
        placement.start([
            str(self.bin_dir / "placement"),
            "--port", str(self.config.placement_port),
            "--listen-address", "127.0.0.1",
            "--healthz-port", str(ports["placement_healthz"]),
            "--healthz-listen-address", "127.0.0.1",
            "--metrics-port", str(ports["placement_metrics"]),
            "--metrics-listen-address", "127.0.0.1",
            "--initial-cluster", f"dapr-placement-0=127.0.0.1:{ports['placement_raft']}",
            *self.mtls_flags(),
        ])
        placement.wait_until(lambda: http_ok(f"http://127.0.0.1:{ports['placement_healthz']}/healthz"),
                             timeout=60, what="healthy")

    def start_scheduler(self) -> None:
        ports = self.config.aux_ports
        scheduler_data = self.config.data_dir / "scheduler"
        scheduler_data.mkdir(parents=True, exist_ok=True)
        scheduler = self.process("scheduler")
        scheduler.start([
            str(self.bin_dir / "scheduler"),
            "--port", str(self.config.scheduler_port),
            "--listen-address", "127.0.0.1",
            "--healthz-port", str(ports["scheduler_healthz"]),
            "--healthz-listen-address", "127.0.0.1",
            "--metrics-port", str(ports["scheduler_metrics"]),
            "--metrics-listen-address", "127.0.0.1",
            "--etcd-data-dir", str(scheduler_data),
            "--etcd-client-port", str(ports["etcd_client"]),
            "--etcd-client-listen-address", "127.0.0.1",
            "--etcd-initial-cluster", f"dapr-scheduler-server-0=http://127.0.0.1:{ports['etcd_peer']}",
            *self.mtls_flags(),
        ])
        scheduler.wait_until(lambda: http_ok(f"http://127.0.0.1:{ports['scheduler_healthz']}/healthz"),
                             timeout=120, what="healthy")

    def stop_control_plane(self) -> None:
        self.process("scheduler").stop()
        self.process("placement").stop()
        self.process("sentry").stop()

    # -- Dapr apps -------------------------------------------------------------------------------
    def redis_host(self) -> str:
        """Dapr's redisHost: the node, or every node of the cluster."""
        if self._redis_cluster is not None:
            return ",".join(self._redis_cluster.nodes)
        parts = urlsplit(self.redis_url)
        return f"{parts.hostname}:{parts.port or 6379}"

    def start_app(self, app: DaprApp) -> None:
        """The app's command in its folder, with the environment the dapr CLI gives it (APP_ID, APP_PORT,
        DAPR_HTTP_PORT, ...), the run file's env, and what the stack provides."""
        env = {
            "APP_ID": app.app_id,
            "APP_PORT": str(app.ports.app),
            "APP_PROTOCOL": app.run.app_protocol,
            "DAPR_HTTP_PORT": str(app.ports.http),
            "DAPR_GRPC_PORT": str(app.ports.grpc),
            "DAPR_METRICS_PORT": str(app.ports.metrics),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "REDIS_CLUSTER": str(self.redis_cluster).lower(),
            "DAPR_API_TOKEN": self.config.dapr_api_token,
            "APP_API_TOKEN": self.config.app_api_token,
            "PYTHONUNBUFFERED": "1",
            **({"OTEL_EXPORTER_OTLP_ENDPOINT": self.config.otlp_endpoint} if self.config.otlp_endpoint else {}),
            **app.run.env,
            **app.app_env,
        }
        self.process(app.name).start(app.run.argv(), env=env, cwd=app.run.app_dir)

    def start_sidecar(self, app: DaprApp) -> None:
        resolver_dir = self.config.data_dir / "name-resolution"
        resolver_dir.mkdir(parents=True, exist_ok=True)
        sidecar = self.process(f"{app.name}-daprd")
        sidecar.start(
            [
                str(self.bin_dir / "daprd"),
                "--app-id", app.app_id,
                "--app-port", str(app.ports.app),
                "--app-protocol", app.run.app_protocol,
                "--dapr-listen-addresses", app.run.listen_addresses,
                "--dapr-http-port", str(app.ports.http),
                "--dapr-grpc-port", str(app.ports.grpc),
                "--dapr-internal-grpc-port", str(app.ports.internal_grpc),
                "--metrics-port", str(app.ports.metrics),
                "--placement-host-address", f"127.0.0.1:{self.config.placement_port}",
                "--scheduler-host-address", f"127.0.0.1:{self.config.scheduler_port}",
                "--resources-path", str(app.run.resources_path),
                *self._upstream_resources(app),
                "--config", str(self._dapr_configuration(app)),
                *(["--enable-app-health-check", "--app-health-check-path", app.run.health_path,
                   "--app-health-probe-interval", str(app.run.health_interval)] if app.run.health_check else []),
                "--log-level", os.environ.get("DAPR_LOG_LEVEL", app.run.log_level),
                "--dapr-graceful-shutdown-seconds", str(DAPR_GRACEFUL_SHUTDOWN_SECONDS),
                *(["--enable-mtls", "--sentry-address", f"127.0.0.1:{self.config.sentry_port}",
                   "--control-plane-trust-domain", TRUST_DOMAIN] if self.config.mtls else []),
                *self._profiling(app),
            ],
            # Component metadata reads these through the local.env secret store.
            env={"CUSTOMER_SERVICE_REDIS_HOST": self.redis_host(),
                 "CUSTOMER_SERVICE_REDIS_TYPE": "cluster" if self.redis_cluster else "node",
                 "DAPR_API_TOKEN": self.config.dapr_api_token, "APP_API_TOKEN": self.config.app_api_token,
                 **({"DAPR_TRUST_ANCHORS": self.trust_anchors_file.read_text()} if self.config.mtls else {})},
            # The sqlite name resolver keeps its file relative to daprd's working folder.
            cwd=resolver_dir,
        )

    def _profiling(self, app: DaprApp) -> list[str]:
        """With DAPR_PROFILING set, daprd serves Go's pprof on a free port, written to
        <run dir>/<app>-daprd.pprof-port (`go tool pprof http://127.0.0.1:PORT/debug/pprof/profile`)."""
        if not os.environ.get("DAPR_PROFILING"):
            return []
        port = free_port()
        (self.config.run_dir / f"{app.name}-daprd.pprof-port").write_text(f"{port}\n")
        return ["--enable-profiling", "--profile-port", str(port)]

    def _dapr_configuration(self, app: DaprApp) -> Path:
        """The run file's Configuration (or the override), exporting spans to the stack's collector if any."""
        source = self.config.dapr_config_override or app.run.config_file
        if not self.config.otlp_endpoint:
            return source
        folder = self.config.data_dir / "configuration"
        folder.mkdir(parents=True, exist_ok=True)
        exporting = folder / f"{app.name}.yaml"
        exporting.write_text(traces_exported(source.read_text(), self.config.otlp_endpoint))
        return exporting

    def _upstream_resources(self, app: DaprApp) -> list[str]:
        """A resources folder of HTTPEndpoints for the service's upstreams outside the mesh, if any."""
        if app.app_id != SERVICE_APP_ID or not self.config.upstreams:
            return []
        folder = self.config.data_dir / "upstreams"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "httpendpoints.yaml").write_text(http_endpoints(self.config.upstreams))
        return ["--resources-path", str(folder)]

    def wait_healthy(self, app: DaprApp) -> None:
        self.process(app.name).wait_until(
            lambda: http_ok(f"http://127.0.0.1:{app.ports.app}{app.health_path}"), timeout=90, what="healthy")
        sidecar = self.process(f"{app.name}-daprd")
        sidecar.wait_until(lambda: http_ok(f"http://127.0.0.1:{app.ports.http}/v1.0/healthz"), timeout=90,
                           what="healthy")
        # daprd probes the app on its own schedule and refuses calls until its probe sees the app healthy.
        sidecar.wait_until(
            lambda: http_ok(f"http://127.0.0.1:{app.ports.http}/v1.0/invoke/{app.app_id}/method{app.health_path}",
                            headers=self.config.dapr_headers),
            timeout=60, what="routing calls to a healthy app")

    def start_dapr_app(self, app: DaprApp) -> None:
        """Like `dapr run`: the app and its sidecar start together, each waiting for the other."""
        self.start_app(app)
        self.start_sidecar(app)
        self.wait_healthy(app)

    def stop_dapr_app(self, name: str) -> None:
        """Stops the app process called `name` (an app id, or a replica's name) and its daprd."""
        self.process(f"{name}-daprd").stop()
        self.process(name).stop()

    # -- everything -----------------------------------------------------------------------------
    def up(self, apps: Sequence[DaprApp]) -> None:
        self.start_storage()
        self.migrate()
        self.start_control_plane()
        for app in apps:
            self.start_dapr_app(app)

    def down(self) -> None:
        run_dir = self.config.run_dir
        sidecars = sorted(run_dir.glob("*-daprd.pid")) if run_dir.exists() else []
        for pid_file in sidecars:
            self.stop_dapr_app(pid_file.name.removesuffix("-daprd.pid"))
        for pid_file in sorted(run_dir.glob("*.pid")) if run_dir.exists() else []:
            if not pid_file.stem.startswith("redis"):  # storage stops last
                self.process(pid_file.stem).stop()
        self.stop_control_plane()
        self.stop_storage()

    def wipe(self) -> None:
        shutil.rmtree(self.config.data_dir, ignore_errors=True)


def _kept_secret(data_dir: Path, name: str) -> str:
    """A random secret made once per local data folder, so restarts of the local stack agree on it."""
    path = data_dir / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def http_endpoints(upstreams: Mapping[str, str]) -> str:
    """Dapr HTTPEndpoint resources, one per upstream: invoking the name reaches the URL."""
    return "".join(
        f"---\napiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: {name}\n"
        f"spec:\n  baseUrl: {url}\nscopes: [{SERVICE_APP_ID}]\n" for name, url in sorted(upstreams.items()))


def traces_exported(configuration: str, otlp_endpoint: str) -> str:
    """A Dapr Configuration's YAML with its tracing exported over OTLP/HTTP to `otlp_endpoint` (a base
    URL, as OTEL_EXPORTER_OTLP_ENDPOINT gives it); its sampling rate stays as it is."""
    resource = yaml.safe_load(configuration)
    collector = urlsplit(otlp_endpoint)
    tracing = resource["spec"].setdefault("tracing", {})
    tracing["otel"] = {"endpointAddress": collector.netloc, "isSecure": collector.scheme == "https",
                       "protocol": "http"}
    return str(yaml.safe_dump(resource, sort_keys=False))


def run_file_app(app_id: str) -> RunApp:
    """An app of dapr.yaml."""
    return read_run_file()[app_id]


def sentry_configuration() -> Path:
    """The Dapr configuration sentry reads (its mTLS settings): the service's, from dapr.yaml."""
    return run_file_app(SERVICE_APP_ID).config_file

