"""One scoping rule for every organisation-owned row (issue 9, item 2): nobody reaches another
organisation's documents, by any URL or form the portal hands out, so a new route cannot skip it.

The test builds a chain with a document of every kind a user can open by id (tests/web/
cross_org_world.py: HQ, two distributors, three suppliers; purchase orders in every state, ASNs,
receipts, inspection lots with a photo, returns and a debit note, certificates, approvals and a
delegation, notifications, price lists, stock, users, organisations, locations and SKUs), logs in
one user per organisation and role, and lets each crawl the portal from its home page
(tests/web/crawler.py): every same-site link, htmx request and form, breadth-first. Every URL or
form action whose path holds an id (a number, or a document number like PO-2026-000001) is a
target: GETs are fetched by their owner, POST forms only recorded.

Then every target is replayed as the users of every other party, each with their own valid CSRF
token and the form's fields (empty ones filled in, a small image for a file input): the answer must
be 403 or 404 (a redirect, to the login page or anywhere, is a failure: the user is logged in), and
no table may change (a SHA-256 per table over all its rows, before and after; EXCLUDED_TABLES says
which bookkeeping tables are left out and why).

Who replays what (the "other organisation" rule, decided here):

- A party is an organisation, except that an HQ user holding only the store role is a party of its
  own (its store): scoping gives a store manager the orders of its own store only, not the chain.
- A target belongs to every party one of whose users reached it by crawling (a purchase order
  belongs to the store or distributor that ordered it, its supplier and HQ). Every user of every
  other party replays it.
- Except HQ's oversight: HQ users other than the store manager see the whole chain by design
  (DESIGN 1: buyers, approvers, warehouse, inspectors and finance work on every supplier's and
  distributor's documents), and the crawl bounds (a few documents per route) mean an HQ buyer may
  not have opened every order a supplier did. So they replay only the POST forms of other parties
  (HQ never acts in a supplier's or distributor's name: confirm an order, acknowledge a return,
  read their notifications), not their GETs. The store manager replays both.
- Two organisations of the same kind (two suppliers, two distributors) never share a target: one
  reached by both is reported too, since it means a list showed one the other's document.
- SHARED lists the targets legitimately reached across parties (none is skipped silently), and
  KNOWN_LEAKS the failures the lead engineer is fixing in files this test does not touch: a listed
  failure is expected, and an entry that no longer fails makes the test fail, so the list only
  shrinks.

Last, each user replays what it reached with every number in it huge (ids in the path, query and
form, and the page number): never a server error, whatever the answer (issue 11, item 3).

Every id-bearing route of the app must be reached by some crawl (or be listed in UNREACHED with
why), so the crawl cannot miss a new route; and each crawling user must reach at least
MIN_TARGETS[user] targets, so a broken crawler cannot pass the test by finding nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain import offers
from supplychain.models import Location, Organisation, OrgKind, PriceListEntry
from supplychain.models.base import utcnow
from supplychain.rules.dates import business_date
from supplychain.settings import settings
from supplychain.temporal import connect
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, csrf, login
from tests.test_inspection_photos import PNG_PHOTO
from tests.web.crawler import (
    CrawlResult,
    Target,
    crawl,
    path_template,
    table_digests,
    with_huge_numbers,
)
from tests.web.cross_org_world import Login, World, build_world, end_world, lighter_seed

# Tables left out of the "nothing changed" digest: bookkeeping every request may write.
EXCLUDED_TABLES: dict[str, str] = {
    "web_session": "each request may touch last_seen_at, and every page pops the session's flash messages",
    "login_attempt": "the replaying users' own logins (made before the first digest) and throttling",
    "alembic_version": "the schema version, not data",
}
# Columns that legitimately change on any request: none outside the excluded tables.

REFUSED = frozenset({403, 404})


def replayer_kind(who: Login) -> str:
    """The replaying user's kind: "hq" (HQ oversight), "hq-store", "supplier" or "distributor"."""
    if who.org_kind is OrgKind.HQ:
        return "hq" if who.party == who.organisation_code else "hq-store"
    return who.org_kind.value


def preferred_price_entry(db: Engine, entry_id: int) -> bool:
    """Whether this price list entry is the one a store's request for its SKU orders from today."""
    with Session(db) as session:
        found = session.execute(
            select(col(PriceListEntry.id)).where(
                col(PriceListEntry.id) == entry_id, offers.preferred(business_date(utcnow()))
            )
        ).first()
    return found is not None


def hq_location(db: Engine, location_id: int) -> bool:
    """Whether this location is one of HQ's own (a warehouse or an HQ store)."""
    with Session(db) as session:
        found = session.execute(
            select(col(Location.id))
            .join(Organisation, col(Organisation.id) == col(Location.organisation_id))
            .where(col(Location.id) == location_id, col(Organisation.kind) == OrgKind.HQ)
        ).first()
    return found is not None


@dataclass(frozen=True)
class Rule:
    """A route (method and path template) as answered to replaying users of one kind ("*": any);
    `own_organisation`: only where the path's first id is the replaying user's organisation;
    `row`: only where this check of the database says yes for the path's first id."""

    method: str
    route: str
    replayers: str
    why: str
    own_organisation: bool = False
    row: Callable[[Engine, int], bool] | None = None

    def matches(self, method: str, path: str, who: Login, db: Engine) -> bool:
        if self.method != method or self.route != path_template(path):
            return False
        if self.replayers not in ("*", replayer_kind(who)):
            return False
        ids = [int(part) for part in path.split("/") if part.isdigit()]
        if self.own_organisation and not (ids and ids[0] == who.organisation_id):
            return False
        return self.row is None or (bool(ids) and self.row(db, ids[0]))

    def __str__(self) -> str:
        return f"{self.method} {self.route} as {self.replayers}"


# Targets legitimately reached across parties: not replayed by those users.
SHARED: tuple[Rule, ...] = (
    Rule(
        "GET",
        "/quality/scorecard/{id}",
        "supplier",
        "a supplier's own scorecard: its /quality/scorecard shows it without linking to its id, so "
        "only HQ's crawl reaches the URL, yet scoping lets the supplier open its own (and no other)",
        own_organisation=True,
    ),
    *(
        Rule(
            "GET",
            "/price-lists/{id}",
            store,
            "a store (HQ's or a distributor's) sees the price list entry its requests order from "
            "(supplychain/offers.py: the preferred offer of its SKU), whoever's list it is on; any "
            "other entry answers 404",
            row=preferred_price_entry,
        )
        for store in ("hq-store", "distributor")
    ),
    Rule(
        "GET",
        "/stock/{id}/{id}/ledger",
        "hq-store",
        "an HQ store manager sees the stock and ledger of every location of its own organisation, HQ "
        "(supplychain/scoping.py), so the ledgers HQ's crawl reached at HQ's warehouses and stores are "
        "its own too; a distributor's location answers 404",
        row=hq_location,
    ),
)

# Failures in files the lead engineer is changing for issue 9 (supplychain/scoping.py, web/deps.py,
# the approvals, catalogue, admin and purchase-order routes, supplychain/notifications.py): each is
# expected to fail until fixed; remove the entry with the fix (the test fails while a listed entry
# no longer fails).
KNOWN_LEAKS: tuple[Rule, ...] = ()

# Id-bearing routes of the app no crawl reaches in this world, and why ({} : every one is reached).
UNREACHED: dict[tuple[str, str], str] = {
    # Their parameters are words (which run, which schedule action), never an id: no target to replay.
    # Only HQ's buyers and admins may post them (tests/web/test_planning.py checks the roles).
    ("POST", "/planning/run/{kind}"): "the kind of planning run is a word, not an id",
    ("POST", "/admin/planning/{kind}/{action}"): "the schedule and the action are words, not ids",
}

# The fewest id-bearing targets each crawling user must reach: about three quarters of what the
# crawl finds in this world, so a crawler that stops following links fails here.
MIN_TARGETS: dict[str, int] = {
    "hq:admin": 118,
    "hq:buyer": 31,
    "hq:approver": 40,
    "hq:warehouse": 18,
    "hq:inspector": 25,
    "hq:quality_approver": 21,
    "hq:finance": 18,
    "hq:store": 4,
    "distributor:DIST-SZ": 11,
    "distributor:DIST-DG": 10,
    "supplier:SUP-HZLY": 22,
    "supplier:SUP-GDYH": 28,
    "supplier:SUP-SHFH": 10,
}


@dataclass(frozen=True)
class Failure:
    user: str
    method: str
    path: str
    status: int | str

    def __str__(self) -> str:
        return f"{self.user}: {self.method} {self.path} -> {self.status}"


def logged_in(factory: ClientFactory, who: Login) -> TestClient:
    client = factory()
    login(client, who.email, who.password)
    return client


def owners(logins: list[Login], crawls: dict[str, CrawlResult]) -> dict[Target, set[str]]:
    """Each id-bearing target and the parties whose users reached it."""
    party = {who.label: who.party for who in logins}
    reached: dict[Target, set[str]] = defaultdict(set)
    for label, result in crawls.items():
        for target in result.reached:
            reached[target].add(party[label])
    return reached


def shared_between_peers(logins: list[Login], reached: dict[Target, set[str]]) -> list[Failure]:
    """Targets reached by two suppliers, or by two distributors."""
    kind = {who.party: who.org_kind for who in logins}
    failures = []
    for target, parties in reached.items():
        for org_kind in (OrgKind.SUPPLIER, OrgKind.DISTRIBUTOR):
            peers = sorted(p for p in parties if kind[p] is org_kind)
            if len(peers) > 1:
                failures.append(Failure(" and ".join(peers), target.method, target.url, "reached by both"))
    return failures


def replay(client: TestClient, token: str, target: Target) -> httpx.Response:
    response: httpx.Response
    if target.method == "GET":
        response = client.get(target.url, follow_redirects=False)
        return response
    data: dict[str, list[str]] = defaultdict(list)
    for name, value in [*target.fields, ("csrf_token", token)]:
        data[name].append(value)
    files = dict.fromkeys(target.files, ("replay.png", PNG_PHOTO, "image/png"))
    response = client.post(target.url, data=data, files=files or None, follow_redirects=False)
    return response


def replays_for(who: Login, target: Target, parties: set[str], db: Engine) -> bool:
    """Whether `who` replays `target` (reached by `parties`): see the module docstring."""
    if who.party in parties:
        return False
    if replayer_kind(who) == "hq" and target.method == "GET":
        return False
    return not any(rule.matches(target.method, target.path, who, db) for rule in SHARED)


def csrf_accepted(client: TestClient, token: str) -> bool:
    """A control: the token the replays carry is accepted (the language switch, to the user's own
    language, answers 303; a refused token would make every POST replay a vacuous 403)."""
    locale = client.cookies.get("scp_lang") or "zh_CN"
    data = {"locale": locale, "next": "/", "csrf_token": token}
    status: int = client.post("/locale", data=data, follow_redirects=False).status_code
    return status == 303


def settled_digests(engine: Engine) -> dict[str, str]:
    """Table digests once the processes have stopped writing (two equal readings in a row)."""
    deadline = time.monotonic() + 20
    last = table_digests(engine, excluded=EXCLUDED_TABLES)
    while True:
        time.sleep(0.3)
        now = table_digests(engine, excluded=EXCLUDED_TABLES)
        if now == last:
            return now
        assert time.monotonic() < deadline, "the world never stopped changing"
        last = now


def unreached_routes(app_routes: list[APIRoute], targets: set[Target]) -> list[str]:
    """Id-bearing routes (a path parameter other than an admin table's slug) no target matches and
    UNREACHED does not excuse, and UNREACHED entries a target does match."""
    missing = []
    for route in app_routes:
        params = set(route.param_convertors) - {"entity"}
        if not params:
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found = any(t.method == method and route.path_regex.match(t.path) for t in targets)
            if (method, route.path) in UNREACHED:
                if found:
                    missing.append(f"UNREACHED entry is reached now, remove it: {method} {route.path}")
            elif not found:
                missing.append(f"no crawl reached {method} {route.path}")
    return missing


def report(problems: list[str], failures: list[Failure]) -> str:
    """One message: the problems, a count per route, then every failing replay."""
    by_route: dict[str, int] = defaultdict(int)
    for f in failures:
        by_route[f"{f.method} {path_template(f.path.split('?')[0])} -> {f.status}"] += 1
    lines = [f"{len(failures)} replays reached another organisation's documents; {len(problems)} problems"]
    lines += problems
    lines += [f"{n:4d} x {route}" for route, n in sorted(by_route.items())]
    lines += [str(f) for f in failures]
    return "\n".join(lines)


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "UPLOAD_DIR", tmp_path / "uploads")
    return tmp_path / "uploads"


async def test_no_user_reaches_another_organisations_documents_by_any_url_or_form(
    db: Engine,
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    uploads: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lighter_seed(monkeypatch)
    temporal = await connect(portal_worker.address)
    world = await build_world(db, temporal, portal_worker.task_queue)
    try:
        check_every_user_is_refused_everywhere_else(db, portal_client, world)
    finally:
        await end_world(temporal, world)


def check_every_user_is_refused_everywhere_else(
    db: Engine, portal_client: ClientFactory, world: World
) -> None:
    logins = {who.label: who for who in world.logins}
    assert set(MIN_TARGETS) == set(logins), "MIN_TARGETS names one minimum per crawling user"
    clients = {label: logged_in(portal_client, who) for label, who in logins.items()}
    tokens = {label: csrf(client) for label, client in clients.items()}
    problems = [
        f"{label}: its CSRF token is refused, the replays would prove nothing"
        for label, client in clients.items()
        if not csrf_accepted(client, tokens[label])
    ]

    # 1. Each user crawls from its home page.
    crawls = {label: crawl(client) for label, client in clients.items()}
    problems += [
        f"{label} reached {len(result.reached)} id-bearing targets, expected at least {MIN_TARGETS[label]}"
        for label, result in crawls.items()
        if len(result.reached) < MIN_TARGETS[label]
    ]
    reached = owners(world.logins, crawls)
    app = clients[world.logins[0].label].app
    contexts = iter_route_contexts(app.routes)  # type: ignore[attr-defined]
    routes = [c.route for c in contexts if isinstance(c.route, APIRoute)]
    problems += unreached_routes(routes, set(reached))
    problems += [
        f"SHARED entry matches no target, remove it: {rule}"
        for rule in SHARED
        if not any(rule.method == t.method and rule.route == t.template for t in reached)
    ]
    failures = shared_between_peers(world.logins, reached)

    # 2. Everyone else replays what each party reached; nothing may change.
    before = settled_digests(db)
    still_leaking: set[Rule] = set()
    for target, parties in sorted(reached.items(), key=lambda item: str(item[0])):
        for who in world.logins:
            if not replays_for(who, target, parties, db):
                continue
            status = replay(clients[who.label], tokens[who.label], target).status_code
            if status in REFUSED:
                continue
            known = next((r for r in KNOWN_LEAKS if r.matches(target.method, target.path, who, db)), None)
            if known is None:
                failures.append(Failure(who.label, target.method, target.url, status))
            else:
                still_leaking.add(known)
    after = table_digests(db, excluded=EXCLUDED_TABLES)

    # 3. Each user replays what it reached with every number huge (ids in the path, the query and
    #    the form, a page number): a 404 or a message, never a server error (issue 11, item 3).
    for label, result in crawls.items():
        for target in sorted(result.reached, key=str):
            huge = with_huge_numbers(target)
            status = replay(clients[label], tokens[label], huge).status_code
            if status >= 500:
                failures.append(Failure(label, huge.method, huge.url, status))

    changed = sorted(name for name in before if before[name] != after.get(name))
    if changed:
        problems.append(f"tables changed by the replays: {', '.join(changed)}")
    problems += [
        f"KNOWN_LEAKS entry no longer leaks, remove it: {rule}"
        for rule in KNOWN_LEAKS
        if rule not in still_leaking
    ]
    assert not problems and not failures, report(problems, failures)
