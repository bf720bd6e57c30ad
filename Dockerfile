# One image for every portal process: `portal web` (default), `portal worker`, `portal migrate`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_HOST=0.0.0.0 \
    WEB_PORT=8000

# WeasyPrint renders PDFs through Pango; without a CJK font Chinese text comes out as empty boxes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .
# Editable, so settings.PROJECT_ROOT is /app and migrations/, templates/ and the catalogs are found there.
# workflows/ as bytecode: the workflow sandbox imports it afresh for every run (see the Makefile).
RUN pip install --no-deps -e . \
    && if ls supplychain/locale/*/LC_MESSAGES/messages.po > /dev/null 2>&1; then \
        pybabel compile -d supplychain/locale -D messages; fi \
    && python -m compileall -q workflows

RUN useradd --system --uid 10001 --home-dir /app --no-create-home portal \
    && mkdir -p /app/var \
    && chown portal:portal /app/var
USER portal

EXPOSE 8000
CMD ["portal", "web"]
