# SIM-PIPE mesh: the developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
PY := $(CURDIR)/.venv/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
STACK := $(PY) -m simpipe_devstack
ASYNCAPI := proto/simpipe/v1/events.asyncapi.json

.PHONY: help install protos client-codegen client-check asyncapi events-lock lint typecheck unit build up down status logs test demo original-gui-check load-image bench images

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --user --disable-pip-version-check uv==0.9.13

install: $(UV) ## create .venv with every service, lib and dev tool; generate gRPC code
	$(UV) sync --all-packages --locked
	$(MAKE) protos

protos: ## generate Python code from proto/ (never edit the output)
	find libs/simpipe-proto/src/simpipe \( -name '*_pb2*.py*' -o -name '*.binpb' \) -delete
	$(PY) -m grpc_tools.protoc -I proto \
		--plugin=protoc-gen-mypy=.venv/bin/protoc-gen-mypy \
		--plugin=protoc-gen-mypy_grpc=.venv/bin/protoc-gen-mypy_grpc \
		--python_out=libs/simpipe-proto/src --grpc_python_out=libs/simpipe-proto/src \
		--mypy_out=libs/simpipe-proto/src --mypy_grpc_out=libs/simpipe-proto/src \
		$(sort $(wildcard proto/simpipe/*/*.proto))
	@# The generated modules carry no comments: the event contract's JSON Schema
	@# and AsyncAPI descriptions are read from this descriptor set.
	$(PY) -m grpc_tools.protoc -I proto --include_source_info --include_imports \
		--descriptor_set_out=libs/simpipe-proto/src/simpipe/v1/events.binpb \
		proto/simpipe/v1/events.proto

# libs/simpipe-client's typed client, generated from the gateway's schema (the
# web GUI's schema.graphql) and the operations in libs/simpipe-client/operations.
# ariadne-codegen runs in its own tool environment: it needs graphql-core 3.2,
# the gateway 3.3.
CLIENT := libs/simpipe-client
ARIADNE := $(UV) tool run --quiet --from ariadne-codegen==0.19.0 ariadne-codegen
client-codegen: ## generate libs/simpipe-client's async and sync clients (never edit their output)
	cd $(CLIENT) && rm -rf src/simpipe_client/generated src/simpipe_client/generated_sync \
		&& $(ARIADNE) --config codegen-async.toml client > /dev/null \
		&& $(ARIADNE) --config codegen-sync.toml client > /dev/null

client-check: ## the generated client is that of the current schema and operations
	@rm -rf /tmp/simpipe-client-check && cp -r $(CLIENT) /tmp/simpipe-client-check
	@cd /tmp/simpipe-client-check && sed -i 's#../../services/web#$(CURDIR)/services/web#' codegen-*.toml \
		&& rm -rf src/simpipe_client/generated src/simpipe_client/generated_sync \
		&& $(ARIADNE) --config codegen-async.toml client > /dev/null \
		&& $(ARIADNE) --config codegen-sync.toml client > /dev/null
	@diff -r -x __pycache__ $(CLIENT)/src/simpipe_client/generated /tmp/simpipe-client-check/src/simpipe_client/generated > /dev/null \
		&& diff -r -x __pycache__ $(CLIENT)/src/simpipe_client/generated_sync /tmp/simpipe-client-check/src/simpipe_client/generated_sync > /dev/null \
		|| { echo "libs/simpipe-client's generated client is stale: run make client-codegen" >&2; exit 1; }

asyncapi: protos ## write proto/simpipe/v1/events.asyncapi.json, the event contract for other tools
	$(PY) -m simpipe_events asyncapi > $(ASYNCAPI).tmp || { rm -f $(ASYNCAPI).tmp; exit 1; }
	mv $(ASYNCAPI).tmp $(ASYNCAPI)

events-lock: protos ## record additions to events.proto in events.lock.json (refuses breaking changes)
	$(PY) -m simpipe_events lock --update proto/simpipe/v1/events.lock.json

lint: ## ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: ## mypy --strict
	$(PY) -m mypy

unit: ## unit tests of every service and lib (no network)
	$(PY) -m pytest -q services libs deploy/local

build: install ## build the local stack's upstream components into the cache (once)
	deploy/local/build.sh

# MODE=cluster: the services as pods of deploy/kustomize/overlays/local on the real node.
MODE ?= process
up: build web ## start the local stack (idempotent; the gateway serves the web GUI) and print its endpoints; MODE=cluster runs the services as pods
	$(if $(filter cluster,$(MODE)),$(MAKE) images)
	SIMPIPE_MODE=$(MODE) $(STACK) up

down: ## stop everything `make up` started
	@if [ -x $(PY) ]; then $(STACK) down; else echo "nothing to stop (no .venv)"; fi

status: ## show each component: running, pid, endpoint
	$(STACK) status

logs: ## tail the stack's logs (COMPONENT=name for one)
	$(STACK) logs $(COMPONENT)

# The suites that run again with the services as pods (make test's last part),
# the CLI's among them: a user's commands through the gateway pod.
CLUSTER_SUITES := $(addprefix tests/integration/,test_dry_runs_graphql.py test_dry_run_artifacts.py \
	test_storage.py test_multipart_upload.py test_storage_isolation.py \
	test_metrics.py test_metrics_reports.py test_metrics_of_many_steps.py test_cli_end_to_end.py)

test: install ## lint, types, unit tests (the web GUI's too); then the stack up, the images built, the integration and browser tests against them; then the services as pods (MODE=cluster) and a dry run through them
	$(MAKE) lint typecheck unit web-check client-check
	$(MAKE) up images
	$(PY) -m pytest tests
	@# The same stack with the services as pods (overlays/local): the cluster's own
	@# tests, then the dry-run, storage and metrics suites again.
	$(MAKE) up MODE=cluster
	$(PY) -m pytest tests/cluster $(CLUSTER_SUITES)

demo: up ## stack up, an example pipeline dry-run, its steps and measurements
	$(PY) -m simpipe_devstack demo

original-gui-check: ## drive the original SIM-PIPE GUI, served at SIMPIPE_ORIGINAL_GUI_URL, against the stack (README)
	$(PY) -m pytest -s -q -o 'python_files=check_*.py' tests/gui

images: web ## build each service's image (buildah + mmdebstrap, no daemon) into the cache; prints sizes (SERVICES="a b" for some)
	$(STACK) images $(SERVICES)

load-image: ## load an image archive into the real node: make load-image IMAGE=path.tar (docker save or OCI)
	@test -n "$(IMAGE)" || { echo "usage: make load-image IMAGE=path/to/image.tar" >&2; exit 2; }
	$(STACK) load-image $(IMAGE)

bench: ## benchmarks against the running stack (prints figures; run `make up` first)
	$(PY) -m pytest -s -q -o 'python_files=bench_*.py' tests/bench

# The web GUI (services/web): a static app the gateway serves (SIMPIPE_WEB_DIR).
.PHONY: web web-check web-schema web-codegen
WEB := services/web
WEB_SCHEMA := $(PY) -c "from simpipe_gateway.config import GatewaySettings; from simpipe_gateway.schema import build_schema; print(build_schema(GatewaySettings()).as_str())"

# npm ci again only when the lock file changed since the last install.
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci
	touch $@

web-schema: ## write services/web/schema.graphql from the gateway's schema (the GUI's types)
	$(WEB_SCHEMA) > $(WEB)/schema.graphql.tmp || { rm -f $(WEB)/schema.graphql.tmp; exit 1; }
	mv $(WEB)/schema.graphql.tmp $(WEB)/schema.graphql

web-codegen: $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npm run --silent codegen

web: web-codegen ## build the web GUI into services/web/build (npm ci when stale, types from schema.graphql)
	cd $(WEB) && rm -rf build && npm run --silent build

web-check: web-codegen ## the web GUI: schema.graphql is the gateway's, svelte-check and eslint without warnings, unit tests
	@$(WEB_SCHEMA) | diff -u $(WEB)/schema.graphql - > /dev/null \
		|| { echo "services/web/schema.graphql is not the gateway's schema: run make web-schema" >&2; exit 1; }
	cd $(WEB) && npm run --silent check && npm run --silent lint && npm test --silent
