"""The local stack's components, in start order."""

from simpipe_devstack.components.argo import ArgoController, ArgoServer
from simpipe_devstack.components.base import Component
from simpipe_devstack.components.cluster import Cluster
from simpipe_devstack.components.minio import Minio
from simpipe_devstack.components.nats import Nats
from simpipe_devstack.components.postgres import Postgres
from simpipe_devstack.components.prometheus import Prometheus
from simpipe_devstack.components.services import SERVICE_NAMES, Service


def all_components() -> list[Component]:
    return [
        Nats(),
        Minio(),
        Postgres(),
        Cluster(),
        Prometheus(),
        ArgoController(),
        ArgoServer(),
        *(Service(name) for name in SERVICE_NAMES),
    ]


__all__ = ["Component", "all_components"]
