# The two commands a newcomer needs: `make demo` and `make test`. Each sets itself up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install demo test lint postgres chromium screenshots vendor

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/scenematch demo

postgres:
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

# Browser tests drive Debian's Chromium; CJK fonts make Chinese render in screenshots.
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk)

# Lint, format, types and the layers contract first, then the suite, all on the whole tree
# (mypy's remaining debt is the marked list in pyproject.toml).

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: $(STAMP) postgres chromium lint
	$(VENV)/bin/pytest

screenshots: $(STAMP) chromium
	$(VENV)/bin/python -m tools.screenshots

# Refresh the vendored front-end files from the npm registry (serving pages never needs npm).
vendor:
	d=$$(mktemp -d) && cd $$d && npm init -y >/dev/null && npm install htmx.org@2.0.11 axe-core@4.14.1 && \
	cp node_modules/htmx.org/dist/htmx.min.js $(CURDIR)/web/static/vendor/ && cp node_modules/htmx.org/LICENSE $(CURDIR)/web/static/vendor/htmx.LICENSE && \
	cp node_modules/axe-core/axe.min.js $(CURDIR)/tests/web/vendor/ && cp node_modules/axe-core/LICENSE $(CURDIR)/tests/web/vendor/axe.LICENSE && \
	cp node_modules/axe-core/LICENSE-3RD-PARTY.txt $(CURDIR)/tests/web/vendor/axe.LICENSE-3RD-PARTY.txt
