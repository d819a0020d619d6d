"""The structure the code promises, checked: layers import downwards only, SQL lives in persistence/,
every route declares who may call it, and the actor holds use cases only."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from fastapi import APIRouter

from actors.customer_actor import CustomerActor
from actors.interface import ActorMethod, CustomerActorInterface
from api.access import unguarded_routes
from api.routes import ROUTERS

ROOT = Path(__file__).resolve().parents[2]
# Each package may import its own layer and those below it.
LAYERS = {"telemetry": 0, "domain": 1, "persistence": 2, "actors": 3, "api": 4, "subscriptions": 4, "service": 5}
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.I | re.S)


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def test_layers_import_downwards_only() -> None:
    upward = [f"{path.relative_to(ROOT)} imports {imported}"
              for package, layer in LAYERS.items() for path in modules(package)
              for imported in imported_packages(path)
              if LAYERS[imported] > layer or (LAYERS[imported] == layer and imported != package)]
    assert upward == []


def test_sql_and_the_database_driver_stay_in_persistence() -> None:
    outside = [path for package in LAYERS if package != "persistence" for path in modules(package)]
    with_sql = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in outside
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)]
    with_driver = [str(path.relative_to(ROOT)) for path in outside if "asyncpg" in path.read_text()]
    assert with_sql == []
    assert with_driver == []


def test_the_sql_check_would_see_a_query() -> None:
    assert SQL.search("SELECT id FROM customers WHERE email = $1")
    assert SQL.search("UPDATE outbox SET published_at = NOW()")


def test_every_route_declares_who_may_call_it() -> None:
    assert unguarded_routes(ROUTERS) == []
    assert sum(len(router.routes) for router in ROUTERS) >= 23


def test_a_route_without_an_access_dependency_is_found() -> None:
    router = APIRouter(prefix="/v1/customers")

    @router.get("/{customer_id}/leak")
    async def leak(customer_id: str) -> dict[str, str]:
        return {"customerId": customer_id}

    assert unguarded_routes([*ROUTERS, router]) == ["['GET'] /v1/customers/{customer_id}/leak"]


def test_the_actor_holds_use_cases_only() -> None:
    interface = {name for name, _ in inspect.getmembers(CustomerActorInterface, inspect.isfunction)
                 if not name.startswith("_")}
    own = {name for name, member in vars(CustomerActor).items() if inspect.isfunction(member)
           and not name.startswith("_")}
    assert own - interface == {"receive_reminder"}
    assert all(hasattr(vars(CustomerActor)[name], "__wrapped__") for name in interface), \
        "every actor method is a use case run as one turn"


def test_each_actor_method_name_is_declared_once() -> None:
    from actors import interface

    names = [v.name for v in vars(interface).values() if isinstance(v, ActorMethod)]
    assert len(names) == len(set(names)) == 31
