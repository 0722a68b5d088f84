"""The services' images (`make images`, run by `make test` before the
suites): each is what the Deployments expect (non-root user, health check,
version and commit labels, entrypoint), imports into the real node's
containerd, and runs there as a pod under Pod Security `restricted` on a
read-only root filesystem: its service's code and every dependency import,
with the optimized bytecode the image was built with and nothing written.
"""

from __future__ import annotations

import json
import tarfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from simpipe_devstack.cluster_policy import container_security_context, pod_security_context
from simpipe_devstack.components.cluster import KWOK_NODE_LABEL
from simpipe_devstack.components.kubelet import REAL_NODE_KIND, REAL_NODE_TAINT
from simpipe_devstack.images import SERVICE_HTTP_PORTS, ImageCache, image_name
from simpipe_devstack.layout import SERVICES_NAMESPACE
from simpipe_devstack.node_images import import_archive
from simpipe_devstack.stack import Stack

# Run inside each image: imports the service as its entrypoint would, then
# says what it ran as and with; writing anywhere on the root must fail.
CHECK = """
import importlib, os, sys
importlib.import_module(os.environ["MODULE"] + ".__main__")
try:
    open("/opt/simpipe/written", "w")
    print("root filesystem writable")
except OSError:
    print("root filesystem read-only")
print(f"uid={os.getuid()} optimize={sys.flags.optimize} python={sys.version_info[:2]}")
print("bytecode written" if sys.dont_write_bytecode is False else "no bytecode written")
"""


def image_config(archive: Any) -> dict[str, Any]:
    """The image's config from its docker archive (manifest.json names it)."""
    with tarfile.open(archive) as tar:
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        (manifest,) = json.load(manifest_file)
        config_file = tar.extractfile(manifest["Config"])
        assert config_file is not None
        found: dict[str, Any] = json.load(config_file)["config"]
        return found


@pytest.fixture(scope="module")
def archives(stack: Stack) -> dict[str, Any]:
    cache = ImageCache(stack.layout.cache / "images")
    found = {service: cache.archive(service) for service in SERVICE_HTTP_PORTS}
    missing = [s for s, path in found.items() if not path.is_file()]
    assert not missing, f"no image built for {missing}: run `make images`"
    return found


@pytest.fixture(scope="module")
def core(stack: Stack) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(stack.layout.kubeconfig)))


@pytest.fixture
def pods(core: client.CoreV1Api) -> Iterator[list[str]]:
    created: list[str] = []
    yield created
    for name in created:
        core.delete_namespaced_pod(name, SERVICES_NAMESPACE, grace_period_seconds=0)


def pod_phase(core: client.CoreV1Api, name: str) -> str:
    status = core.read_namespaced_pod(name, SERVICES_NAMESPACE).status
    return str(status.phase if status else None)


@pytest.mark.parametrize("service", list(SERVICE_HTTP_PORTS))
def test_each_image_is_configured_as_the_deployments_expect(
    archives: dict[str, Any], service: str
) -> None:
    found = image_config(archives[service])
    assert found["User"] == "65532:65532"
    assert found["Entrypoint"] == ["/opt/simpipe/bin/service"]
    assert f"SIMPIPE_HTTP_PORT={SERVICE_HTTP_PORTS[service]}" in found["Env"]
    assert "PYTHONOPTIMIZE=2" in found["Env"]
    assert "/health" in " ".join(found["Healthcheck"]["Test"])
    labels = found["Labels"]
    assert labels["io.simpipe.service"] == service
    assert labels["org.opencontainers.image.version"]
    assert len(labels["org.opencontainers.image.revision"].split("-")[0]) == 40


@pytest.mark.timeout(600)
def test_each_image_runs_as_a_restricted_pod_on_the_real_node(
    real_node: Stack, archives: dict[str, Any], core: client.CoreV1Api, pods: list[str]
) -> None:
    for service, archive in archives.items():
        names = import_archive(real_node, archive)
        assert any(n.endswith(image_name(service)) for n in names), (service, names)
    for service in archives:
        name = f"image-{service}-{uuid.uuid4().hex[:6]}"
        module = "simpipe_" + service.replace("-", "_")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"simpipe.io/test": "images"}},
            "spec": {
                "nodeSelector": {KWOK_NODE_LABEL: REAL_NODE_KIND},
                "tolerations": [{**REAL_NODE_TAINT, "operator": "Equal"}],
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": 0,
                "securityContext": pod_security_context(),
                "containers": [
                    {
                        "name": "main",
                        "image": image_name(service),
                        "imagePullPolicy": "Never",
                        "command": ["/opt/simpipe/bin/python", "-c", CHECK],
                        "env": [{"name": "MODULE", "value": module}],
                        "securityContext": {
                            **container_security_context(),
                            "readOnlyRootFilesystem": True,
                        },
                    }
                ],
            },
        }
        core.create_namespaced_pod(SERVICES_NAMESPACE, pod)  # type: ignore[arg-type]
        pods.append(name)
    deadline = time.monotonic() + 300
    for name in pods:
        while (phase := pod_phase(core, name)) not in ("Succeeded", "Failed"):
            assert time.monotonic() < deadline, f"{name} still {phase}"
            time.sleep(0.5)
        log = core.read_namespaced_pod_log(name, SERVICES_NAMESPACE, container="main")
        assert phase == "Succeeded", (name, log)
        lines = log.splitlines()
        assert "root filesystem read-only" in lines, (name, log)
        assert "uid=65532 optimize=2 python=(3, 11)" in lines, (name, log)
        assert "no bytecode written" in lines, (name, log)
