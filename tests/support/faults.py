"""Faults under load, and the books checked afterwards: nothing acknowledged lost, nothing counted twice.

`MixedLoad` runs writers (one per customer, one PUT at a time, a new first name each) and an order
publisher (orders.order.completed through the Order Service's daprd, known ids and amounts) in
threads while a fault is injected and recovered from. `check_books` then waits for the stack to settle
and counts what went wrong. `FAULTS` are the faults themselves and `under_load` runs one. Used by
tests/e2e/test_faults.py (the CI subset) and bench/faults.py (every scenario, printed as a table).
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from devstack.stack import DaprApp, SidecarPorts
from domain.ids import customer_uuid
from tests.support.service import GATEWAY_ID, SERVICE_ID, Service, admin, service_app, stand_in

ORDER_AMOUNT = Decimal("10.00")


@dataclass
class Writer:
    customer_id: str
    # (first name written, status, headers, body) of every answered PUT
    answers: list[tuple[str, int, httpx.Headers, bytes]] = field(default_factory=list)
    attempted: list[str] = field(default_factory=list)
    slowest_seconds: float = 0.0  # the longest any one write took to be answered (or to fail)
    errors: list[str] = field(default_factory=list)  # writes that got no answer: the exception, briefly

    def run(self, url: str, headers: dict[str, str], stop: threading.Event) -> None:
        with httpx.Client(timeout=20, headers=headers) as http:
            n = 0
            while not stop.is_set():
                n += 1
                name = f"W{n}"
                self.attempted.append(name)
                started = time.monotonic()
                try:
                    response = http.put(f"{url}/v1/customers/{self.customer_id}", json={"profile": {"firstName": name}})
                except httpx.HTTPError as exc:
                    self.slowest_seconds = max(self.slowest_seconds, time.monotonic() - started)
                    self.errors.append(type(exc).__name__)
                    time.sleep(0.05)
                    continue
                self.slowest_seconds = max(self.slowest_seconds, time.monotonic() - started)
                self.answers.append((name, response.status_code, response.headers, response.content))
                if response.status_code != 200:
                    time.sleep(0.05)  # a client backing off, not hammering a recovering service

    def answers_summary(self) -> str:
        """The last answers, e.g. 'W40 200 v41, W41 500, W42 200 v42'."""
        return ", ".join(f"{name} {status}" + (f" v{h['etag'].strip(chr(34))}" if "etag" in h else "")
                         for name, status, h, _ in self.answers[-8:])

    def acknowledged(self) -> list[tuple[str, int]]:
        """(first name, version) of every write answered 200 with this service's envelope and ETag."""
        return [(name, int(headers["etag"].strip('"'))) for name, status, headers, _ in self.answers
                if status == 200 and "etag" in headers]


@dataclass
class OrderPublisher:
    """Publishes orders for the customers round robin; `accepted` holds those daprd answered 204 to."""

    customers: list[str]
    accepted: dict[str, float] = field(default_factory=dict)  # order id -> when daprd accepted it (monotonic)
    accepted_wall: dict[str, float] = field(default_factory=dict)  # the same, as epoch seconds
    refused: int = 0

    def run(self, url: str, headers: dict[str, str], stop: threading.Event, per_second: float) -> None:
        run = uuid.uuid4().hex[:8]
        with httpx.Client(timeout=10, headers=headers) as http:
            n = 0
            while not stop.is_set():
                customer_id = self.customers[n % len(self.customers)]
                n += 1
                order_id = f"ord_fault_{run}_{n}"
                try:
                    response = http.post(url, json={"eventId": f"evt_fault_{run}_{n}", "data": {
                        "orderId": order_id, "customerId": customer_id, "amount": str(ORDER_AMOUNT),
                        "currency": "USD", "completedAt": datetime.now(UTC).isoformat()}})
                    if response.status_code == 204:
                        self.accepted[order_id] = time.monotonic()
                        self.accepted_wall[order_id] = time.time()
                    else:
                        self.refused += 1
                except httpx.HTTPError:
                    self.refused += 1
                time.sleep(1 / per_second)


class MixedLoad:
    """Writes and inbound orders through daprd, in threads, from `start()` to `stop()`: the writes through
    customer-service's own daprd, or through a caller's (`caller`, an app of the mesh allowed to invoke it)."""

    def __init__(self, service: Service, *, writers: int = 8, orders_per_second: float = 20,
                 caller: DaprApp | None = None) -> None:
        self.service = service
        self.caller = caller
        self.writers = [Writer(service.create_customer()["id"]) for _ in range(writers)]
        self.orders = OrderPublisher([w.customer_id for w in self.writers])
        self._orders_per_second = orders_per_second
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        headers = {**self.service.stack.config.dapr_headers, **admin()}
        dapr = self.service.dapr if self.caller is None else f"http://127.0.0.1:{self.caller.ports.http}"
        url = f"{dapr}/v1.0/invoke/{SERVICE_ID}/method"
        producer = self.service.producers["orders"]
        publish = f"http://127.0.0.1:{producer.ports.http}/v1.0/publish/pubsub/orders.order.completed"
        self._threads = [threading.Thread(target=w.run, args=(url, headers, self._stop)) for w in self.writers]
        self._threads.append(threading.Thread(target=self.orders.run, args=(
            publish, self.service.stack.config.dapr_headers, self._stop, self._orders_per_second)))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


@dataclass
class Books:
    """What a fault cost, after recovery. Every count but the first two must be 0."""

    writes_acknowledged: int
    writes_failed: int  # answered non-200 or not at all: the client knows to retry
    failures: dict[str, int]  # how they failed: by status and error code, or the exception's name
    false_acknowledgements: list[str]  # 200s that are not this service's answer for that write
    acknowledged_writes_missing: int
    orders_accepted: int
    orders_lost: int
    orders_double_applied: int  # customers whose metrics differ from the sum of their recorded orders
    outbox_unpublished: int
    stale_reads: int  # customers whose API view differs from PostgreSQL after recovery
    slowest_order_seconds: float  # from the publish daprd accepted to the commit that applied it
    slowest_write_seconds: float  # the longest one write took to be answered
    details: list[str] = field(default_factory=list)  # what each missing write or stale read was

    @property
    def clean(self) -> bool:
        return self.damage == CLEAN

    @property
    def damage(self) -> dict[str, Any]:
        """What must be nothing after a fault, by name: a failing assertion shows which count it was (the
        whole Books' text is cut short in pytest's message)."""
        return {"false_acknowledgements": self.false_acknowledgements,
                "acknowledged_writes_missing": self.acknowledged_writes_missing, "orders_lost": self.orders_lost,
                "orders_double_applied": self.orders_double_applied, "outbox_unpublished": self.outbox_unpublished,
                "stale_reads": self.stale_reads}


CLEAN = {"false_acknowledgements": [], "acknowledged_writes_missing": 0, "orders_lost": 0,
         "orders_double_applied": 0, "outbox_unpublished": 0, "stale_reads": 0}


def _settled(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def _genuine(name: str, headers: httpx.Headers, body: bytes) -> str | None:
    """Why a 200 is not this service's acknowledgement of writing `name`, or None if it is."""
    if "etag" not in headers or "x-correlation-id" not in headers:
        return f"200 without ETag or correlation id: headers {dict(headers)}, body {body[:100]!r}"
    try:
        envelope: dict[str, Any] = httpx.Response(200, content=body).json()
    except ValueError:
        return f"200 with a body that is not JSON: {body[:100]!r}"
    if not envelope.get("success") or envelope["data"]["customer"]["profile"]["firstName"] != name:
        return f"200 whose envelope is not the write of {name}: {body[:200]!r}"
    return None


def _failure(status: int, body: bytes) -> str:
    """A failed answer as "503 SERVICE_UNAVAILABLE" (the envelope's code, or daprd's errorCode)."""
    try:
        answer = httpx.Response(status, content=body).json()
    except ValueError:
        return str(status)
    if isinstance(answer.get("error"), dict):  # this service's envelope: its code says enough
        return f"{status} {answer['error'].get('code')}"
    if "errorCode" in answer:  # daprd's own error: its message says what failed (no request data in it)
        return f"{status} {answer['errorCode']}: {str(answer.get('message'))[:160]}"
    return str(status)


def _one(db: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
    row = db.execute(sql, params).fetchone()
    assert row is not None, sql
    return tuple(row)


def check_books(load: MixedLoad, *, settle_seconds: float = 90, orders_accepted_after: float = 0) -> Books:
    """`orders_accepted_after` (monotonic time) leaves out orders accepted before it: those a fault
    takes with the transport itself (Redis lost with its streams)."""
    service = load.service
    with psycopg.connect(service.stack.database_url, autocommit=True) as db:
        order_ids = [order_id for order_id, at in load.orders.accepted.items() if at > orders_accepted_after]

        def recorded() -> set[str]:
            rows = db.execute("SELECT order_id FROM customer_orders WHERE order_id = ANY(%s)", (order_ids,))
            return {row[0] for row in rows}

        _settled(lambda: len(recorded()) == len(order_ids), settle_seconds)
        lost = len(set(order_ids) - recorded())
        applied_at: dict[str, float] = dict(db.execute(
            "SELECT order_id, extract(epoch FROM recorded_at)::float FROM customer_orders WHERE order_id = ANY(%s)",
            (order_ids,)).fetchall())
        slowest = max((applied_at[o] - load.orders.accepted_wall[o] for o in order_ids if o in applied_at), default=0.0)
        keys = [customer_uuid(w.customer_id) for w in load.writers]
        [double_applied] = _one(db, """
            SELECT count(*) FROM customer_segments s
            LEFT JOIN (SELECT customer_id, sum(amount) AS spent, count(*) AS orders
                       FROM customer_orders GROUP BY customer_id) o ON o.customer_id = s.customer_id
            WHERE s.customer_id = ANY(%s) AND (s.total_spent IS DISTINCT FROM coalesce(o.spent, 0)
                                               OR s.order_count IS DISTINCT FROM coalesce(o.orders, 0))""",
                                (keys,))

        def unpublished() -> int:
            return int(_one(db, "SELECT count(*) FROM outbox WHERE customer_id = ANY(%s) AND published_at IS NULL",
                            (keys,))[0])

        _settled(lambda: unpublished() == 0, settle_seconds)

        false_acks: list[str] = []
        details: list[str] = []
        missing = stale = 0
        for w in load.writers:
            false_acks += [f"{w.customer_id}: {problem}" for name, status, headers, body in w.answers
                           if status == 200 and (problem := _genuine(name, headers, body))]
            acknowledged = w.acknowledged()
            # Each acknowledged write committed a profile change, and with it the change's event row, after
            # the previous acknowledgement and at or before its own version. (Not always at it: a request
            # daprd delivers twice finds its change made, and answers the version now, orders included.)
            versions = sorted(row[0] for row in db.execute(
                "SELECT (payload::jsonb -> 'data' ->> 'version')::int FROM outbox "
                "WHERE customer_id = %s AND topic = 'customers.profile.updated'", (customer_uuid(w.customer_id),)))
            previous = 0
            for name, version in acknowledged:
                if not any(previous < v <= version for v in versions):
                    missing += 1
                    details.append(f"{w.customer_id}: {name} acknowledged at v{version}, but no profile change "
                                   f"committed after v{previous} (rows: {versions[-6:]}; {w.answers_summary()})")
                previous = version
            first_name, version = _one(db, "SELECT first_name, version FROM customers WHERE id = %s",
                                       (customer_uuid(w.customer_id),))
            if acknowledged:
                last_name, last_version = acknowledged[-1]
                # Orders move the version too; a write whose answer was lost may have landed after the last one.
                if version < last_version or first_name not in w.attempted[w.attempted.index(last_name):]:
                    missing += 1
                    details.append(f"{w.customer_id}: PostgreSQL holds {first_name} v{version}, the last "
                                   f"acknowledged write was {last_name} v{last_version} ({w.answers_summary()})")
            view = service.api("GET", f"/v1/customers/{w.customer_id}")
            if view.status_code != 200 or view.json()["data"]["customer"]["profile"]["firstName"] != first_name:
                stale += 1
                details.append(f"{w.customer_id}: API answers {view.status_code} {view.text[:200]}, PostgreSQL "
                               f"holds {first_name} v{version}")
        answers = [status for w in load.writers for _, status, _, _ in w.answers]
        return Books(
            writes_acknowledged=sum(len(w.acknowledged()) for w in load.writers),
            writes_failed=sum(len(w.attempted) for w in load.writers) - answers.count(200),
            failures=dict(Counter([_failure(status, body) for w in load.writers for _, status, _, body in w.answers
                                   if status != 200] + [error for w in load.writers for error in w.errors])),
            false_acknowledgements=false_acks, acknowledged_writes_missing=missing,
            orders_accepted=len(order_ids), orders_lost=lost, orders_double_applied=int(double_applied),
            outbox_unpublished=unpublished(), stale_reads=stale, slowest_order_seconds=round(slowest, 1),
            slowest_write_seconds=round(max(w.slowest_seconds for w in load.writers), 2),
            details=details)


def time_until_answering(service: Service, customer_ids: list[str], *, timeout: float = 90) -> float:
    """Seconds until every customer is readable through daprd again (reads that skip the cache: the
    segment is cached too, so the actor's `get_segment` through daprd's actor API)."""
    started = time.monotonic()
    pending = set(customer_ids)
    while pending and time.monotonic() - started < timeout:
        for customer_id in list(pending):
            try:
                if service.http.put(f"{service.dapr}/v1.0/actors/CustomerActor/{customer_id}/method/get",
                                    content=b"{}", timeout=5).status_code == 200:
                    pending.discard(customer_id)
            except httpx.HTTPError:
                pass
        if pending:
            time.sleep(0.1)
    if pending:
        raise AssertionError(f"{len(pending)} customers still not answering after {timeout:.0f} s")
    return time.monotonic() - started


# -- the faults, injected and recovered from as a supervisor would ----------------------------------------
# Each returns the requests it made while the fault lasted (what a client saw then), by name.
Inject = Callable[[Service, list[str]], dict[str, httpx.Response]]


def kill_app(service: Service, customers: list[str]) -> dict[str, httpx.Response]:
    service.kill_app()  # SIGKILL: requests in flight die with it
    service.stack.start_app(service.app)
    service.stack.wait_healthy(service.app)
    return {}


def kill_daprd(service: Service, customers: list[str]) -> dict[str, httpx.Response]:
    service.stack.process(f"{service.app.name}-daprd").kill()
    service.stack.start_sidecar(service.app)
    service.stack.wait_healthy(service.app)
    return {}


def kill_placement(service: Service, customers: list[str]) -> dict[str, httpx.Response]:
    service.stack.process("placement").kill()
    time.sleep(1)
    service.stack.start_placement()
    return {}


def restart_scheduler(service: Service, customers: list[str]) -> dict[str, httpx.Response]:
    service.stack.process("scheduler").stop()
    service.stack.start_scheduler()
    return {}


def wipe_redis(service: Service, customers: list[str]) -> dict[str, httpx.Response]:
    """Actor state, the view cache, rate limits and the pub/sub streams: all gone."""
    redis = service.stack.local_redis
    assert redis is not None, "needs the project's own Redis process"
    redis.stop()
    shutil.rmtree(redis.data_dir / "redis")
    redis.start()
    return {}


def stop_postgres(seconds: int) -> Inject:
    """PostgreSQL down for `seconds`; a second in, a write and a read are tried."""
    def inject(service: Service, customers: list[str]) -> dict[str, httpx.Response]:
        postgres = service.stack.local_postgres
        assert postgres is not None, "needs the project's own PostgreSQL process"
        postgres.stop()
        time.sleep(1)
        write = service.api("PUT", f"/v1/customers/{customers[0]}", json={"profile": {"lastName": "Outage"}})
        probes = {"write": write, "read": service.api("GET", f"/v1/customers/{customers[1]}")}
        time.sleep(seconds - 1)
        postgres.start()
        return probes

    return inject


@dataclass(frozen=True)
class Fault:
    inject: Inject
    # The pub/sub's streams go with it: only orders accepted after recovery can be counted.
    takes_the_transport: bool = False


@dataclass
class FaultRun:
    fault: Fault
    load: MixedLoad
    recovered_at: float  # monotonic
    answering_seconds: float  # from the fault to every customer answering again
    probes: dict[str, httpx.Response]

    def books(self) -> Books:
        return check_books(self.load, orders_accepted_after=self.recovered_at if self.fault.takes_the_transport else 0)


def under_load(service: Service, fault: Fault, *, caller: DaprApp | None = None) -> FaultRun:
    """16 writers and the order publisher; the fault 2 s in; the load runs 2 s past recovery."""
    load = MixedLoad(service, writers=16, caller=caller)
    customers = [w.customer_id for w in load.writers]
    load.start()
    time.sleep(2)
    started = time.monotonic()
    probes = fault.inject(service, customers)
    recovered_at = time.monotonic()
    answering = time_until_answering(service, customers) + (recovered_at - started)
    time.sleep(2)
    load.stop()
    return FaultRun(fault, load, recovered_at, answering, probes)


def rolling_update(service: Service) -> tuple[FaultRun, list[str]]:
    """Two replicas replaced one at a time, as a rolling update replaces pods: the new replica started and
    ready, then the old one stopped as Kubernetes stops a pod (SIGTERM to its daprd; to the app once daprd
    has gone, which the app container's preStop hook ensures in k8s/deployment.yaml). Under the load, the
    writes through a caller's daprd (api-gateway, with the callers' resiliency policy). The first old
    replica gives way to one on new ports, the second to one on the first's ports (service.app again),
    and the extra replica and the caller are stopped after the run: the stack is as it was.
    Returns the run, and how long each old replica took to stop."""
    stack = service.stack
    gateway = stand_in(GATEWAY_ID, "tests.support.bystander:app")
    second = replace(service_app(SidecarPorts.free()), replica=2)
    third = replace(service_app(SidecarPorts.free()), replica=3)
    for app in (gateway, second):
        stack.start_dapr_app(app)
    stops: list[str] = []

    def roll(service: Service, customers: list[str]) -> dict[str, httpx.Response]:
        for new, old in ((third, service.app), (service.app, second)):
            if new is not service.app:
                stack.start_dapr_app(new)
            started = time.monotonic()
            stack.stop_dapr_app(old.name)
            stops.append(f"{old.name} stopped in {time.monotonic() - started:.1f} s")
            if new is service.app:
                stack.start_dapr_app(new)
        return {}

    try:
        return under_load(service, Fault(roll), caller=gateway), stops
    finally:
        for app in (third, gateway):
            stack.stop_dapr_app(app.name)


FAULTS: dict[str, Fault] = {
    "kill -9 app": Fault(kill_app),
    "kill -9 daprd": Fault(kill_daprd),
    "kill -9 placement": Fault(kill_placement),
    "scheduler restart": Fault(restart_scheduler),
    "redis wiped": Fault(wipe_redis, takes_the_transport=True),
    "postgresql stopped 10 s": Fault(stop_postgres(10)),
}
