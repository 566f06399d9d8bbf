# NetCanvas: `make run` installs everything and starts the app; `make test` installs the same and runs every suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := frontend/node_modules/.installed
HAS_FRONTEND := $(wildcard frontend/package.json)

.PHONY: install run test lint typecheck pytest frontend frontend-test chromium postgres bench test-gpu clean api-types docs

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch is pinned in pyproject (>=2.4,<2.14) and installed in this one pip command with the rest
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	touch $@

$(NODE_STAMP): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

install: $(PY_STAMP) $(if $(HAS_FRONTEND),$(NODE_STAMP))

# The built app, rebuilt only when a source, the config or the dependencies changed.
DIST := frontend/dist/index.html
FRONTEND_SOURCES = $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts \
  frontend/tsconfig.json frontend/package.json

$(DIST): $(NODE_STAMP) $(FRONTEND_SOURCES)
	cd frontend && npm run build

frontend: install $(if $(HAS_FRONTEND),$(DIST))

chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium) \
	  || echo "could not install Debian's chromium: browser tests will be skipped"

# The store, run and API tests also run on a real PostgreSQL server, which a pytest fixture starts from Debian's
# binaries: without them `make test` fails (NETCANVAS_TEST_POSTGRES=required) rather than skipping those tests.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
	  || (echo "could not install Debian's postgresql, which the PostgreSQL tests need"; exit 1)

run: frontend
	$(BIN)/netcanvas serve

lint: install
	$(BIN)/ruff check backend tests $(wildcard bench/*.py)

typecheck: install
	$(BIN)/mypy

frontend-test: frontend
ifneq ($(HAS_FRONTEND),)
	cd frontend && npm run typecheck && npm run lint && npm test
	# the generated API types must match the committed OpenAPI document (pytest checks that one is current)
	cd frontend && npx openapi-typescript src/api/openapi.json --default-non-nullable false -o .schema-check.ts >/dev/null 2>&1 \
	  && cmp -s src/api/schema.ts .schema-check.ts; status=$$?; rm -f .schema-check.ts; \
	  if [ $$status -ne 0 ]; then echo "frontend/src/api/schema.ts is stale: run make api-types"; exit 1; fi
endif

# Regenerate the frontend's API types after changing the HTTP API.
api-types: install
	$(BIN)/netcanvas openapi > frontend/src/api/openapi.json
	cd frontend && npm run gen:api

# Regenerate docs/layers.md after adding a layer or changing its params or doc (a test checks it is current).
docs: install
	$(BIN)/python -m netcanvas.catalog.docs > docs/layers.md

# The browser tests run first and alone (they drive a real UI against a real server and would fight the other tests
# for the cores), then the rest on two pytest workers, one test file per worker at a time (a file's fixtures stay
# in one process): about 40 % quicker than one worker on two cores, as most tests wait on a run's worker process.
# Both always run; either failing fails the target.
pytest: install frontend chromium postgres
	NETCANVAS_TEST_POSTGRES=required $(BIN)/pytest --durations=10 tests/e2e; browser=$$?; \
	NETCANVAS_TEST_POSTGRES=required $(BIN)/pytest -n 2 --dist loadfile --ignore=tests/e2e --durations=25; rest=$$?; \
	test $$browser -eq 0 && test $$rest -eq 0

# The static checks run side by side (each mostly uses one core; their output is printed per target), then
# pytest runs alone and last: its closing line is the summary of all but the browser tests.
test:
	$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck frontend-test
	$(MAKE) --no-print-directory pytest

# The CUDA path on a machine with a GPU: the tests marked gpu (skipped, with the reason, without one) and the
# training benchmark on the GPU (it stops with the reason where there is no CUDA).
test-gpu: install
	$(BIN)/pytest -m gpu -rs tests/training/test_devices.py
	$(BIN)/python bench/train.py --device cuda --quick --repeats 3

bench: install
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/train.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist
