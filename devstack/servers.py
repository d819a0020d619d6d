"""PostgreSQL and Redis for local runs and tests.

Infrastructure is taken in this order: DATABASE_URL / REDIS_URL from the environment; testcontainers
where a Docker engine answers; otherwise server processes of the project's own, with their data under
the stack's data folder.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from devstack.processes import ManagedProcess, StackError, tcp_open

log = logging.getLogger("devstack")

LOCAL_DB_USER = "customers"
LOCAL_DB_PASSWORD = "customers"  # noqa: S105 - a loopback-only development database
LOCAL_DB_NAME = "customers_db"


def _postgres_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if candidates:
        return Path(candidates[-1])
    if pg_ctl := shutil.which("pg_ctl"):
        return Path(pg_ctl).resolve().parent
    raise StackError("PostgreSQL is not installed; scripts/bootstrap installs it")


def _as_postgres_user(argv: Sequence[str]) -> list[str]:
    """PostgreSQL refuses to run as root; as root we run it as the Debian package's postgres user."""
    if os.geteuid() != 0:
        return list(argv)
    return ["runuser", "-u", "postgres", "--", *argv]


def _chown_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass(frozen=True)
class LocalPostgres:
    data_dir: Path
    log_dir: Path
    port: int

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "postgres-socket"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://{LOCAL_DB_USER}:{LOCAL_DB_PASSWORD}@127.0.0.1:{self.port}/{LOCAL_DB_NAME}"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = _as_postgres_user([str(_postgres_bin_dir() / tool), *args])
        result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise StackError(f"{tool} {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def start(self) -> str:
        for folder in (self.data_dir, self.socket_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        _chown_to_postgres(self.socket_dir)
        if not (self.cluster_dir / "PG_VERSION").exists():
            # PostgreSQL refuses a data folder others may read; pg_basebackup keeps the folder's mode.
            self.cluster_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            _chown_to_postgres(self.cluster_dir)
            self._create_cluster()
        self.log_file.touch()
        _chown_to_postgres(self.log_file)
        if not tcp_open(self.port):
            options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            self._run("pg_ctl", "-D", str(self.cluster_dir), "-l", str(self.log_file), "-o", options,
                      "-w", "-t", "60", "start")
            log.info("started PostgreSQL on port %d, log %s", self.port, self.log_file)
        self._ensure_database()
        return self.url

    def _create_cluster(self) -> None:
        self._run("initdb", "-D", str(self.cluster_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-locale")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """One statement as the superuser (setting up; pausing and resuming a replica's replay in tests)."""
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                         "-tAc", sql).stdout.strip()

    def _ensure_database(self) -> None:
        # Constants of this module, never input: string-built SQL is safe here.
        if self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{LOCAL_DB_USER}'") != "1":  # noqa: S608
            self.psql(f"CREATE ROLE {LOCAL_DB_USER} LOGIN PASSWORD '{LOCAL_DB_PASSWORD}'")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{LOCAL_DB_NAME}'") != "1":  # noqa: S608
            self.psql(f"CREATE DATABASE {LOCAL_DB_NAME} OWNER {LOCAL_DB_USER}")

    def stop(self) -> None:
        if (self.cluster_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.cluster_dir), "-m", "fast", "-w", "stop")
            log.info("stopped PostgreSQL")


@dataclass(frozen=True)
class LocalPostgresReplica(LocalPostgres):
    """A hot standby of `primary`, streaming its WAL: a second local cluster made by pg_basebackup, as a
    read replica of the platform's would be. Its data sits in its own folder under the primary's."""

    primary: LocalPostgres | None = None

    @property
    def log_file(self) -> Path:
        return self.log_dir / "postgres-replica.log"

    def _create_cluster(self) -> None:
        if self.primary is None:
            raise StackError("a replica needs its primary")
        # -R writes standby.signal and primary_conninfo: it starts as a standby of the primary.
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                  "-D", str(self.cluster_dir), "-R", "-X", "stream", "-c", "fast")

    def _ensure_database(self) -> None:
        """Nothing to do: a standby is read-only, and the primary's role and database stream to it."""


@dataclass(frozen=True)
class LocalPgBouncer:
    """PgBouncer in transaction mode in front of a PostgreSQL: what a cluster puts between many pods and a
    server with a hundred connections. `server_connections` is its pool per database and user."""

    data_dir: Path
    log_dir: Path
    run_dir: Path
    port: int
    server_port: int
    server_connections: int = 2

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("pgbouncer", self.run_dir, self.log_dir)

    @property
    def url(self) -> str:
        return f"postgresql://{LOCAL_DB_USER}:{LOCAL_DB_PASSWORD}@127.0.0.1:{self.port}/{LOCAL_DB_NAME}"

    def start(self) -> str:
        pgbouncer = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(pgbouncer).exists():
            raise StackError("pgbouncer is not installed; scripts/bootstrap installs it")
        folder = self.data_dir / "pgbouncer"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "userlist.txt").write_text(f'"{LOCAL_DB_USER}" "{LOCAL_DB_PASSWORD}"\n')
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{LOCAL_DB_NAME} = host=127.0.0.1 port={self.server_port} dbname={LOCAL_DB_NAME}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = md5\nauth_file = {folder / 'userlist.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {self.server_connections}\nmax_client_conn = 1000\n"
            # asyncpg's startup packet: PgBouncer forwards only the parameters it knows.
            "ignore_startup_parameters = extra_float_digits\n")
        if not tcp_open(self.port):
            # Like PostgreSQL, PgBouncer refuses to run as root.
            self.process.start(_as_postgres_user([pgbouncer, str(folder / "pgbouncer.ini")]))
            self.process.wait_until(lambda: tcp_open(self.port), timeout=30, what="accepting connections")
        return self.url

    def stop(self) -> None:
        self.process.stop()


@dataclass(frozen=True)
class LocalRedis:
    data_dir: Path
    log_dir: Path
    run_dir: Path
    port: int

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("redis", self.run_dir, self.log_dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise StackError("redis-server is not installed; scripts/bootstrap installs it")
        folder = self.data_dir / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        if not tcp_open(self.port):
            self.process.start(
                [redis_server, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(folder),
                 "--appendonly", "yes", "--save", ""],
            )
            self.process.wait_until(lambda: tcp_open(self.port), timeout=30, what="accepting connections")
        return self.url

    def stop(self) -> None:
        self.process.stop()


@dataclass(frozen=True)
class LocalRedisCluster:
    """A Redis Cluster of three primaries (no replicas) on loopback ports, each a process of its own: what
    the cluster tier of the tests runs the service's keys and Dapr's components against."""

    data_dir: Path
    log_dir: Path
    run_dir: Path
    ports: tuple[int, int, int]

    def process(self, port: int) -> ManagedProcess:
        return ManagedProcess(f"redis-cluster-{port}", self.run_dir, self.log_dir)

    @property
    def nodes(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports]

    @property
    def url(self) -> str:
        """One node's URL: a cluster client learns the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> str:
        redis_server, redis_cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if redis_server is None or redis_cli is None:
            raise StackError("redis-server is not installed; scripts/bootstrap installs it")
        for port in self.ports:
            folder = self.data_dir / "redis-cluster" / str(port)
            folder.mkdir(parents=True, exist_ok=True)
            if not tcp_open(port):
                self.process(port).start(
                    [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                     "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", "5000", "--appendonly", "yes", "--save", ""],
                )
            self.process(port).wait_until(partial(tcp_open, port), timeout=30, what="accepting connections")
        if not self._healthy(redis_cli):
            result = subprocess.run(  # noqa: S603 - argv built here from our own ports
                [redis_cli, "--cluster", "create", *self.nodes, "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise StackError(f"redis-cli --cluster create failed:\n{result.stdout}{result.stderr}")
            self.process(self.ports[0]).wait_until(lambda: self._healthy(redis_cli), timeout=30,
                                                   what="a cluster with every slot served")
            log.info("formed a Redis Cluster of %s", ", ".join(self.nodes))
        return self.url

    def _healthy(self, redis_cli: str) -> bool:
        """Every node sees the cluster as ok (all 16384 slots assigned and reachable)."""
        for port in self.ports:
            result = subprocess.run([redis_cli, "-p", str(port), "cluster", "info"],  # noqa: S603
                                    capture_output=True, text=True, check=False)
            if "cluster_state:ok" not in result.stdout:
                return False
        return True

    def stop(self) -> None:
        for port in self.ports:
            self.process(port).stop()


def docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]  # shipped with testcontainers, dev only

        client = docker.from_env(timeout=3)
        answered: bool = client.ping()
        return answered
    except Exception:  # any failure to reach an engine means "no engine"
        return False


class Containers:
    """PostgreSQL and Redis from testcontainers, for machines where a Docker engine answers."""

    def __init__(self) -> None:
        self._running: list[Any] = []

    def postgres(self) -> str:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:15-alpine", username=LOCAL_DB_USER,
                                      password=LOCAL_DB_PASSWORD, dbname=LOCAL_DB_NAME, driver=None)
        container.start()
        self._running.append(container)
        url: str = container.get_connection_url()
        return url

    def redis(self) -> str:
        from testcontainers.redis import RedisContainer

        container = RedisContainer("redis:7-alpine")
        container.start()
        self._running.append(container)
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
        return f"redis://{host}:{port}/0"

    def stop(self) -> None:
        for container in reversed(self._running):
            container.stop()
        self._running.clear()
