"""Fixtures for integration tests: clients of the running local stack.

These tests run against the real components `make up` starts (see
deploy/local); they fail, not skip, when the stack is down, so a broken
stack can never pass as green.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from kubernetes import client
from playwright.async_api import Browser, Page, async_playwright
from pydantic import SecretStr

from simpipe.v1 import (
    argo_watcher_pb2_grpc,
    kwok_scaler_pb2_grpc,
    metrics_collector_pb2_grpc,
    workflow_submitter_pb2_grpc,
)
from simpipe_client import AsyncSimpipe
from simpipe_common.grpc_channel import mesh_channel
from simpipe_common.kube import kubernetes_api_client
from simpipe_common.settings import MIB, ServiceSettings
from simpipe_devstack.components import Component
from simpipe_devstack.layout import WEB_BUILD, Layout
from simpipe_devstack.mesh_pki import stack_pki
from simpipe_devstack.mesh_users import TESTS
from simpipe_devstack.private_image import pushed_private_image
from simpipe_devstack.stack import Stack
from simpipe_devstack.web_gui import WebGui


@pytest.fixture(scope="session")
def stack() -> Stack:
    stack = Stack(Layout.from_env(), out=lambda _: None)
    down = [c.name for c in stack.active_components if not c.is_running(stack)]
    if down:
        pytest.fail(
            f"the local stack is not fully up (down: {', '.join(down)}); run `make up` first"
        )
    return stack


@pytest.fixture(scope="session")
def endpoints(stack: Stack) -> dict[str, str]:
    found: dict[str, str] = json.loads(stack.layout.endpoints_file.read_text())
    return found


@pytest.fixture(scope="session")
def mesh(stack: Stack, endpoints: dict[str, str]) -> ServiceSettings:
    """The tests' identity in the stack's mesh, as a service's settings: their
    certificate (every service answers it: SIMPIPE_GRPC_EXTRA_CALLERS) for
    simpipe_common.grpc_channel.mesh_channel, and their NATS user (every
    right) for nats.connect(**simpipe_common.nats_auth.connect_options(mesh))."""
    files = stack_pki(stack).files(TESTS)
    return ServiceSettings(
        nats_url=endpoints["nats"],
        nats_user=TESTS,
        nats_password=SecretStr(stack.secrets.nats_passwords[TESTS]),
        tls_ca_file=files.ca,
        tls_cert_file=files.cert,
        tls_key_file=files.key,
        # The metrics-collector's series, the largest answers.
        grpc_max_answer_bytes=16 * MIB,
    )


@pytest.fixture(scope="session")
def real_node(stack: Stack) -> Stack:
    """The stack, for tests that need its real node: skipped, with the
    reason, only where this machine cannot run containers."""
    if stack.real_node_problem:
        pytest.skip(f"no real node on this machine: {stack.real_node_problem}")
    return stack


@pytest.fixture
def restartable(stack: Stack) -> Iterator[list[Component]]:
    """Components a test restarts; each is running again after the test."""
    touched: list[Component] = []
    yield touched
    for component in touched:
        if not component.is_running(stack):
            component.start(stack)


@pytest.fixture
def crash(stack: Stack, restartable: list[Component]) -> Callable[[Component], None]:
    """Kills a component with SIGKILL (nothing gets a chance to flush or say
    goodbye) and waits until it is gone; it runs again after the test."""

    def kill(component: Component) -> None:
        restartable.append(component)
        pid = component.pid(stack)
        assert pid is not None, f"{component.name} is not running"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while component.is_running(stack) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not component.is_running(stack), f"{component.name} outlived SIGKILL"

    return kill


@pytest.fixture
async def dev(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    """A client of the gateway's GraphQL API, as the user local-dev."""
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens["local-dev"])
    yield gql
    await gql.aclose()


@pytest.fixture
async def guest(stack: Stack, endpoints: dict[str, str]) -> AsyncIterator[AsyncSimpipe]:
    """A client of the gateway's GraphQL API, as the user local-guest."""
    gql = AsyncSimpipe(endpoints["graphql"], stack.secrets.api_tokens["local-guest"])
    yield gql
    await gql.aclose()


@pytest.fixture
async def project(dev: AsyncSimpipe) -> AsyncIterator[str]:
    """A fresh project of local-dev's, deleted (with its runs and templates) after the test."""
    created = await dev.graphql(
        "mutation($n: String!) { createProject(project: {name: $n}) { id } }", n="Test pipeline"
    )
    project_id: str = created["createProject"]["id"]
    yield project_id
    await dev.graphql("mutation($p: String!) { deleteProject(projectId: $p) }", p=project_id)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium (SIMPIPE_CHROMIUM), driven by Playwright: its own
    browser download does not work here."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=os.environ.get("SIMPIPE_CHROMIUM", "/usr/bin/chromium")
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def private_image(real_node: Stack) -> Iterator[str]:
    """An image only the stack's registry has, behind its login (a run must pull it)."""
    with pushed_private_image(real_node) as image:
        yield image


@pytest.fixture(scope="session")
def kube(stack: Stack) -> client.ApiClient:
    """The stack's apiserver, as its admin (to watch what the services did)."""
    return kubernetes_api_client(stack.layout.kubeconfig)


@pytest.fixture
async def watcher(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> AsyncIterator[argo_watcher_pb2_grpc.ArgoWatcherAsyncStub]:
    """The argo-watcher's gRPC API, called as the tests' mesh identity."""
    async with mesh_channel(endpoints["argo-watcher_grpc"], mesh) as channel:
        yield argo_watcher_pb2_grpc.ArgoWatcherStub(channel)


@pytest.fixture
async def collector(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> AsyncIterator[metrics_collector_pb2_grpc.MetricsCollectorAsyncStub]:
    """The metrics-collector's gRPC API, called as the tests' mesh identity."""
    async with mesh_channel(endpoints["metrics-collector_grpc"], mesh) as channel:
        yield metrics_collector_pb2_grpc.MetricsCollectorStub(channel)


@pytest.fixture
async def scaler(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> AsyncIterator[kwok_scaler_pb2_grpc.KwokScalerAsyncStub]:
    """The kwok-scaler's gRPC API, called as the tests' mesh identity."""
    async with mesh_channel(endpoints["kwok-scaler_grpc"], mesh) as channel:
        yield kwok_scaler_pb2_grpc.KwokScalerStub(channel)


@pytest.fixture
async def submitter(
    endpoints: dict[str, str], mesh: ServiceSettings
) -> AsyncIterator[workflow_submitter_pb2_grpc.WorkflowSubmitterAsyncStub]:
    """The workflow-submitter's gRPC API, called as the tests' mesh identity."""
    async with mesh_channel(endpoints["workflow-submitter_grpc"], mesh) as channel:
        yield workflow_submitter_pb2_grpc.WorkflowSubmitterStub(channel)


@pytest.fixture(scope="session")
def web(stack: Stack, endpoints: dict[str, str]) -> WebGui:
    if not (WEB_BUILD / "index.html").is_file():
        pytest.fail("the web GUI is not built: run `make web`, then restart the gateway")
    url = endpoints["gateway_http"].rstrip("/")
    # The gateway serves the build only if it was there when it started.
    if "<title>SIM-PIPE</title>" not in httpx.get(f"{url}/projects", timeout=10).text:
        pytest.fail("the gateway does not serve the web GUI: restart it after `make web`")
    shots = stack.layout.state / "web-gui"
    shots.mkdir(parents=True, exist_ok=True)
    return WebGui(url, shots)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    yield await context.new_page()
    await context.close()
