"""The local stack's components, in start order."""

from simpipe_devstack.components.argo import ArgoController, ArgoServer
from simpipe_devstack.components.base import Component
from simpipe_devstack.components.cadvisor import Cadvisor
from simpipe_devstack.components.cluster import Cluster
from simpipe_devstack.components.cluster_services import ClusterServices
from simpipe_devstack.components.containerd import Containerd
from simpipe_devstack.components.kube_proxy import KubeProxy
from simpipe_devstack.components.kubelet import Kubelet
from simpipe_devstack.components.minio import Minio
from simpipe_devstack.components.nats import Nats
from simpipe_devstack.components.node_network import NodeNetwork
from simpipe_devstack.components.oidc import Oidc
from simpipe_devstack.components.postgres import Postgres
from simpipe_devstack.components.prometheus import Prometheus
from simpipe_devstack.components.registry import Registry
from simpipe_devstack.components.services import SERVICE_NAMES, Service
from simpipe_devstack.components.sftpgo import Sftpgo


def all_components() -> list[Component]:
    return [
        Nats(),
        Minio(),
        Sftpgo(),
        Registry(),
        Oidc(),
        Postgres(),
        Cluster(),
        # The real node (skipped where containers cannot run).
        NodeNetwork(),
        Containerd(),
        Kubelet(),
        KubeProxy(),
        Cadvisor(),
        Prometheus(),
        ArgoController(),
        ArgoServer(),
        *(Service(name) for name in SERVICE_NAMES),
        # The same six as pods instead (make up MODE=cluster).
        ClusterServices(),
    ]


__all__ = ["Component", "all_components"]
