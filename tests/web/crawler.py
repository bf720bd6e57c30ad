"""A small same-site crawler for the portal's pages, and a digest of every table's rows.

For tests that walk the portal as a user and replay what they found as someone else
(tests/web/test_cross_org_replay.py):

- `crawl(client)`: breadth-first from the home page, following every same-site link a page offers
  (`href`, `src`, `hx-get`, `hx-post`, and every form: its action or a button's `formaction`, its
  method, and its fields, hidden ones, selects and controls tied to it by `form=` included). GET
  targets are fetched; POST targets are only recorded, never sent. Returns the id-bearing targets
  (a path segment that is a number, a document number like PO-2026-000001 or a stored file's
  public id) with the status the
  crawling user got.
- Bounds: pagination is followed to page 2 at most; URLs of a path that differ only by their query
  count as one page, except list filters offered as a select in a GET form (a status, not a row
  id), whose options are each tried once (a supplier's orders list shows only "sent" until asked
  for "all"); at most `MAX_PER_TEMPLATE` documents per route and method (`/admin/skus/{id}`: the
  first few SKUs), `MAX_FILTER_VARIANTS` queries per path and `MAX_PAGES` pages per user.
- A GET target keeps the query of its first visit (`.../batch-row?line=1&index=4` needs it).
- `with_huge_numbers(target)`: the target with every number in it huge, for "no 500 from a number".
- `table_digests(engine)`: one SHA-256 per table of all its rows in primary-key order, for "nothing
  changed" checks.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from sqlalchemy import Engine, MetaData, Table, inspect, select
from starlette.testclient import TestClient

# A document number as the portal prints it: PO-2026-000001, SHP-2026-000003, INS-..., RTV-..., DN-...
DOCUMENT_NUMBER = re.compile(r"^[A-Z]{2,4}-\d{4}-\d{3,}$")
NUMERIC_ID = re.compile(r"^\d+$")
FILE_ID = re.compile(r"^[0-9a-f]{32}$")  # a stored file's random public id
MAX_PAGE = 2
MAX_PER_TEMPLATE = 8
MAX_PAGES = 600
MAX_FILTER_VARIANTS = 12  # query variants of one list path
SKIPPED_PREFIXES = ("/static/",)  # assets: no ids, nothing scoped
NEVER_FETCHED = frozenset({"/logout", "/login"})  # a crawl must not log itself out
CSRF_FIELD = "csrf_token"
SUBMITTING_INPUTS = frozenset({"submit", "image"})
IGNORED_INPUTS = frozenset({"button", "reset"})


@dataclass(frozen=True)
class Target:
    """Something a page lets its user do: fetch a URL, or send a form (method, path, fields)."""

    method: str
    path: str
    query: str = ""
    fields: tuple[tuple[str, str], ...] = ()  # as the form would send them, CSRF token left out
    files: tuple[str, ...] = ()  # file inputs: the replay attaches a small image to each

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def template(self) -> str:
        return path_template(self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


def path_template(path: str) -> str:
    """`/purchase-orders/PO-2026-000001/lines/2/short-close`
    -> `/purchase-orders/{number}/lines/{id}/short-close`."""
    parts = []
    for part in path.split("/"):
        if NUMERIC_ID.match(part):
            parts.append("{id}")
        elif DOCUMENT_NUMBER.match(part):
            parts.append("{number}")
        elif FILE_ID.match(part):
            parts.append("{file_id}")
        else:
            parts.append(part)
    return "/".join(parts)


def has_id(path: str) -> bool:
    return path_template(path) != path


HUGE_NUMBER = "99999999999999999999"  # past 64 bits: SQLite overflows on it unless the edge bounds it


def with_huge_numbers(target: Target) -> Target:
    """`target` with every number in its path (a document number's serial too), its query and its
    form fields replaced by HUGE_NUMBER, and a huge page number: none may make a 5xx."""

    def huge(value: str) -> str:
        if NUMERIC_ID.match(value):
            return HUGE_NUMBER
        if DOCUMENT_NUMBER.match(value):
            return value.rsplit("-", 1)[0] + "-" + HUGE_NUMBER
        return value

    path = "/".join(huge(part) for part in target.path.split("/"))
    query = [(k, huge(v)) for k, v in parse_qsl(target.query, keep_blank_values=True) if k != "page"]
    fields = tuple((k, huge(v)) for k, v in target.fields)
    return Target(target.method, path, urlencode([*query, ("page", HUGE_NUMBER)]), fields, target.files)


# --- reading a page -----------------------------------------------------------------------------------


@dataclass
class _Control:
    name: str
    kind: str  # input type, "select", "textarea", "button"
    value: str
    checked: bool = False
    form_id: str | None = None  # the form="..." attribute
    formaction: str | None = None
    formmethod: str | None = None
    options: list[tuple[str, bool]] = field(default_factory=list)  # select: (value, selected)
    multiple: bool = False
    hx_post: str | None = None
    hx_vals: dict[str, str] = field(default_factory=dict)


@dataclass
class _Form:
    action: str
    method: str
    id: str | None
    controls: list[_Control] = field(default_factory=list)
    hx_post: str | None = None


class _PageParser(HTMLParser):
    """Links, htmx requests and forms (with every control that belongs to each) of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.hx_posts: list[tuple[str, dict[str, str], _Form | None]] = []
        self.forms: list[_Form] = []
        self.orphans: list[_Control] = []  # controls outside any form (maybe tied by form="...")
        self._form: _Form | None = None
        self._select: _Control | None = None
        self._textarea: _Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for attr in ("href", "src", "hx-get"):
            if a.get(attr):
                self.links.append(a[attr])
        if tag == "form":
            self._form = _Form(
                action=a.get("action", ""),
                method=(a.get("method") or "get").upper(),
                id=a.get("id"),
                hx_post=a.get("hx-post"),
            )
            self.forms.append(self._form)
            return
        if tag in ("input", "select", "textarea", "button"):
            self._control(tag, a)
        elif a.get("hx-post"):
            self.hx_posts.append((a["hx-post"], _hx_vals(a.get("hx-vals", "")), self._form))
        if tag == "option" and self._select is not None:
            self._select.options.append((a.get("value", ""), "selected" in a))

    def _control(self, tag: str, a: dict[str, str]) -> None:
        kind = (a.get("type") or "text").lower() if tag == "input" else tag
        if tag == "button":
            kind = "submit" if (a.get("type") or "submit").lower() == "submit" else "button"
        control = _Control(
            name=a.get("name", ""),
            kind=kind,
            value=a.get("value", ""),
            checked="checked" in a,
            form_id=a.get("form") or None,
            formaction=a.get("formaction") or None,
            formmethod=(a.get("formmethod") or "").upper() or None,
            multiple="multiple" in a,
            hx_post=a.get("hx-post") or None,
            hx_vals=_hx_vals(a.get("hx-vals", "")),
        )
        if control.form_id is not None or self._form is None:
            self.orphans.append(control)
        else:
            self._form.controls.append(control)
        if tag == "select":
            self._select = control
        elif tag == "textarea":
            self._textarea = control

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def resolved_forms(self) -> list[_Form]:
        by_id = {f.id: f for f in self.forms if f.id}
        for control in self.orphans:
            owner = by_id.get(control.form_id) if control.form_id else None
            if owner is not None:
                owner.controls.append(control)
            elif control.hx_post:  # a lone htmx control (a button outside any form)
                self.hx_posts.append((control.hx_post, control.hx_vals, None))
        return self.forms


def _hx_vals(raw: str) -> dict[str, str]:
    try:
        values = json.loads(raw) if raw.strip().startswith("{") else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}


def _filler(control: _Control) -> str:
    """A plausible value for an empty field, so a replayed form would do something if it got through."""
    if control.kind == "date":
        return (date.today() + timedelta(days=14)).isoformat()
    if control.kind == "email":
        return "replay@example.test"
    if control.kind == "password":
        return "Replayed-password-2026"
    return "1"


def _fields(controls: Iterable[_Control], *, fill: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """The name/value pairs a browser sends for these controls (submit buttons aside), and file inputs."""
    pairs: list[tuple[str, str]] = []
    files: list[str] = []
    radios: dict[str, list[_Control]] = {}
    for c in controls:
        if not c.name or c.name == CSRF_FIELD or c.kind in SUBMITTING_INPUTS | IGNORED_INPUTS:
            continue
        if c.kind in ("submit", "button"):
            continue
        if c.kind == "file":
            files.append(c.name)
        elif c.kind == "checkbox":
            if c.checked:
                pairs.append((c.name, c.value or "on"))
        elif c.kind == "radio":
            radios.setdefault(c.name, []).append(c)
        elif c.kind == "select":
            chosen = [v for v, selected in c.options if selected] or [v for v, _ in c.options[:1]]
            pairs.extend((c.name, v) for v in (chosen if c.multiple else chosen[:1]))
        else:
            pairs.append((c.name, c.value if c.value or not fill else _filler(c)))
    for name, group in radios.items():
        chosen_radio = next((c for c in group if c.checked), group[0])
        pairs.append((name, chosen_radio.value or "on"))
    return pairs, files


def _split(base: str, url: str) -> tuple[str, str] | None:
    """(path, query) of a same-site URL, or None for anything else (other sites, mailto, fragments)."""
    absolute = urljoin(base, url.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(base).netloc:
        return None
    return parts.path or "/", parts.query


@dataclass
class Page:
    """What one page offers: URLs to fetch, GET-form variants to fetch, POST targets to record."""

    links: list[tuple[str, str]]
    posts: list[Target]


def read_page(base: str, html: str) -> Page:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    links: list[tuple[str, str]] = []
    posts: list[Target] = []
    for url in parser.links:
        found = _split(base, url)
        if found is not None:
            links.append(found)
    forms = parser.resolved_forms()
    for form in forms:
        for method, action, fields, files in _submissions(form):
            found = _split(base, action or base)
            if found is None:
                continue
            path, query = found
            if method == "GET":
                links.extend(_get_form_variants(path, form))
            else:
                posts.append(Target("POST", path, query, tuple(fields), tuple(files)))
    for url, vals, owner in parser.hx_posts:
        found = _split(base, url)
        if found is None:
            continue
        path, query = found
        pairs, files = _fields(owner.controls, fill=True) if owner is not None else ([], [])
        posts.append(Target("POST", path, query, tuple(pairs + sorted(vals.items())), tuple(files)))
    return Page(links, posts)


def _submissions(form: _Form) -> Iterator[tuple[str, str, list[tuple[str, str]], list[str]]]:
    """One submission per distinct submit button (its formaction, formmethod, name=value)."""
    pairs, files = _fields(form.controls, fill=form.method == "POST")
    buttons: list[_Control | None] = [c for c in form.controls if c.kind in SUBMITTING_INPUTS]
    seen: set[tuple[str, str, str, str]] = set()
    for button in buttons or [None]:
        action = (button.formaction if button and button.formaction else None) or form.action
        method = (button.formmethod if button and button.formmethod else None) or form.method
        extra = [(button.name, button.value)] if button is not None and button.name else []
        key = (action, method, *(extra[0] if extra else ("", "")))
        if key in seen:
            continue
        seen.add(key)
        yield method, action, pairs + extra, files
    if form.hx_post:
        yield "POST", form.hx_post, pairs, files


def _id_options(select: _Control) -> bool:
    """A filter by row id (supplier, location): narrows a list, never shows more than "all" does."""
    return all(NUMERIC_ID.match(value) for value, _ in select.options if value)


def _get_form_variants(path: str, form: _Form) -> list[tuple[str, str]]:
    """A filter form: as it stands, and each option of each of its selects on its own."""
    pairs, _ = _fields(form.controls, fill=False)
    variants = [(path, urlencode([(k, v) for k, v in pairs if v]))]
    for control in form.controls:
        if control.kind != "select" or not control.name or _id_options(control):
            continue
        for value, _selected in control.options:
            chosen = [(k, v) for k, v in pairs if k != control.name] + [(control.name, value)]
            variants.append((path, urlencode([(k, v) for k, v in chosen if v])))
    return variants


# --- the crawl -----------------------------------------------------------------------------------------


@dataclass
class CrawlResult:
    """Id-bearing targets: GETs with the status the crawling user got, POSTs as seen on a page."""

    gets: dict[Target, int] = field(default_factory=dict)  # the first visit of each path
    posts: set[Target] = field(default_factory=set)
    pages: int = 0
    urls: set[str] = field(default_factory=set)  # paths of `gets`

    @property
    def reached(self) -> set[Target]:
        """What the user could open (GET 200) or submit (a form on a page they opened)."""
        return {t for t, status in self.gets.items() if status == 200} | self.posts


def _page_number(query: str) -> int:
    for key, value in parse_qsl(query):
        if key == "page":
            return int(value) if value.isdigit() and len(value) < 6 else 1
    return 1


def _visit_key(path: str, query: str) -> tuple[str, str]:
    """Pages of one path differ by page number (up to MAX_PAGE) and list filter, nothing else."""
    kept = sorted((k, v) for k, v in parse_qsl(query) if v and k != "page")
    return path, urlencode([*kept, ("page", str(_page_number(query)))])


def crawl(client: TestClient, start: str = "/") -> CrawlResult:
    base = str(client.base_url).rstrip("/") + "/"
    result = CrawlResult()
    queue: deque[tuple[str, str]] = deque([(start, "")])
    seen: set[tuple[str, str]] = set()
    variants: dict[str, int] = {}
    per_template: dict[str, set[str]] = {}
    while queue and result.pages < MAX_PAGES:
        path, query = queue.popleft()
        if path in NEVER_FETCHED or path.startswith(SKIPPED_PREFIXES) or _page_number(query) > MAX_PAGE:
            continue
        key = _visit_key(path, query)
        if key in seen:
            continue
        template = path_template(path)
        documents = per_template.setdefault(template, set())
        if path not in documents and len(documents) >= MAX_PER_TEMPLATE:
            continue
        if variants.get(path, 0) >= MAX_FILTER_VARIANTS:
            continue
        seen.add(key)
        variants[path] = variants.get(path, 0) + 1
        documents.add(path)
        response = client.get(f"{path}?{query}" if query else path, follow_redirects=False)
        result.pages += 1
        if has_id(path) and path not in result.urls:
            result.urls.add(path)
            result.gets[Target("GET", path, query)] = response.status_code
        if response.is_redirect:
            found = _split(base, response.headers["location"])
            if found is not None:
                queue.append(found)
            continue
        if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
            "text/html"
        ):
            continue
        page = read_page(base.rstrip("/") + path, response.text)
        queue.extend(page.links)
        for post in page.posts:
            documents = per_template.setdefault(f"POST {post.template}", set())
            if not has_id(post.path) or (post.path not in documents and len(documents) >= MAX_PER_TEMPLATE):
                continue
            documents.add(post.path)
            result.posts.add(post)
    return result


# --- nothing changed ---------------------------------------------------------------------------------


def table_digests(engine: Engine, *, excluded: Iterable[str] = ()) -> dict[str, str]:
    """SHA-256 of each table's rows (all columns, primary-key order), every table of the database
    (as it is, not as the models say) except `excluded`."""
    skip = set(excluded)
    names = sorted(n for n in inspect(engine).get_table_names() if n not in skip)
    metadata = MetaData()
    digests: dict[str, str] = {}
    with engine.connect() as conn:
        for name in names:
            table = Table(name, metadata, autoload_with=conn)
            order = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            for row in conn.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
                digest.update(b"\n")
            digests[name] = digest.hexdigest()
    return digests
