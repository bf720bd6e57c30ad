"""Test configuration. Fixtures live in tests/fixtures/, one module per concern:

- database: a fresh database per run (SQLite file, or a new PostgreSQL database when DATABASE_URL
  points at a server), migrated with Alembic; `db` wipes it for a test; `session` opens one.
- temporal: the time-skipping test server and a real dev server, both started here.
- web: the FastAPI test client and logging in as a user.
- portal: the web app wired to a real dev server and the production worker (process tests).
- passwords: argon2id at test weight for the whole run.

Under pytest-xdist (`make test` runs one worker per core) every worker process loads these plugins
afresh: its own database, its own Temporal servers, its own document-number counter.
"""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.temporal",
    "tests.fixtures.web",
    "tests.fixtures.portal",
    "tests.fixtures.passwords",
]


def pytest_collection_modifyitems(config: object, items: list[object]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main thread
    until the end of the session, after which pytest-asyncio cannot set up its async fixtures."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)  # type: ignore[attr-defined]
