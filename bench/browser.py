"""A person at the portal over HTTP: logs in through the login form and submits the pages' own forms.

A click is timed from sending its POST to receiving the 303 that answers it (the redirect is not
followed: the page it leads to is measured with the pages). The form is read off the page first,
hidden fields included (CSRF token, one-time submission ids), with what the person types on top,
as a browser would send it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from html.parser import HTMLParser

import httpx

from bench.processes import BenchError

SESSION_COOKIE = "scp_session"
TIMEOUT_S = 60.0


class BrowserError(BenchError):
    """The portal did not answer a step as a person would expect (the message carries the page)."""


class Browser:
    def __init__(self, base_url: str, name: str) -> None:
        self.name = name
        self.client = httpx.Client(base_url=base_url, timeout=TIMEOUT_S, follow_redirects=False)

    def close(self) -> None:
        self.client.close()

    def login(self, email: str, password: str) -> None:
        fields = form_fields(self.get("/login").text, "/login")
        response = self.client.post("/login", data={**fields, "email": email, "password": password})
        if response.status_code != 303 or not self.client.cookies.get(SESSION_COOKIE):
            raise BrowserError(f"{self.name} could not log in as {email}: {_excerpt(response)}")

    @property
    def cookie(self) -> str:
        return f"{SESSION_COOKIE}={self.client.cookies[SESSION_COOKIE]}"

    def get(self, url: str) -> httpx.Response:
        response = self.client.get(url)
        if response.status_code != 200:
            raise BrowserError(f"{self.name}: GET {url} answered {_excerpt(response)}")
        return response

    def answers(self, url: str, timeout: float) -> bool:
        """Whether `url` is answered 200 within `timeout` seconds (a redirect to the login: not)."""
        try:
            return self.client.get(url, timeout=timeout).status_code == 200
        except httpx.TimeoutException:
            return False

    def click(
        self,
        page_url: str,
        action: str,
        typed: dict[str, str],
        *,
        post_to: str | None = None,
        fill: Callable[[str], str | None] | None = None,
    ) -> float:
        """Open `page_url`, type into the form posting to `action` (`typed` by name, `fill` for the
        fields it answers), submit it; returns the POST's seconds."""
        data = form_fields(self.get(page_url).text, action)
        if fill is not None:
            data.update({name: value for name in data if (value := fill(name)) is not None})
        data.update(typed)
        started = time.perf_counter()
        response = self.client.post(post_to or action, data=data)
        elapsed = time.perf_counter() - started
        if response.status_code != 303:
            raise BrowserError(f"{self.name}: POST {post_to or action} answered {_excerpt(response)}")
        return elapsed


def _excerpt(response: httpx.Response) -> str:
    flashes = [line.strip() for line in response.text.splitlines() if "error" in line or "flash" in line]
    return f"{response.status_code} {' '.join(flashes)[:800] or response.text[:800]}"


class _Forms(HTMLParser):
    """Each form's fields with the values a browser would submit (inputs may sit outside their form)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.actions: dict[str, str] = {}  # form id (or action) -> action
        self.fields: list[tuple[str | None, str, str]] = []  # (form id or action, name, value)
        self._form: str | None = None
        self._textarea: tuple[str | None, str] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = a.get("id") or a.get("action", "")
            self.actions[self._form] = a.get("action", "")
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.fields.append((a.get("form") or self._form, a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = (a.get("form") or self._form, a["name"]), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((*self._textarea, self._text))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data


def form_fields(page_html: str, action: str) -> dict[str, str]:
    parser = _Forms()
    parser.feed(page_html)
    keys = [key for key, form_action in parser.actions.items() if form_action == action]
    if not keys:
        raise BrowserError(f"no form posting to {action} on the page")
    return {name: value for form, name, value in parser.fields if form == keys[0]}


class _Rows(HTMLParser):
    """What a page lists, in page order: each table-body row (its cells' text), each list item
    (notifications, timeline entries; one cell) and each work-queue card of the home page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._in_main = False
        self._in_body = False
        self._row: list[str] | None = None
        self._row_tag = ""
        self._nested = 0  # elements of the row's own tag inside it (a timeline entry's list of changes)
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "main":
            self._in_main = True
        elif tag == "tbody":
            self._in_body = True
        elif self._row is not None:
            if tag in {"td", "th"} and self._row_tag == "tr":
                self._cell = []
            elif tag == self._row_tag:
                self._nested += 1
        elif tag == "tr" and self._in_body:
            self._row, self._row_tag = [], tag
        elif self._in_main and (tag == "li" or (tag == "section" and "queue" in classes)):
            self._row, self._row_tag, self._cell = [], tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._in_main = False
        elif tag == "tbody":
            self._in_body = False
        elif tag in {"td", "th"} and self._row_tag == "tr" and self._cell is not None:
            self._end_cell()
        elif self._row is not None and tag == self._row_tag and self._nested:
            self._nested -= 1
        elif self._row is not None and tag == self._row_tag:
            if self._cell is not None:
                self._end_cell()
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _end_cell(self) -> None:
        assert self._row is not None and self._cell is not None
        self._row.append(" ".join("".join(self._cell).split()))
        self._cell = None


def page_rows(page_html: str) -> list[list[str]]:
    """What a page lists (see _Rows), for the floor page to render the same cells."""
    parser = _Rows()
    parser.feed(page_html)
    return parser.rows
