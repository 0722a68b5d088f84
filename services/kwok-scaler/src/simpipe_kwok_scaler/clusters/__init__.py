"""Virtual clusters: pools of KWOK nodes (real Node objects in the
apiserver) an owner creates, resizes and deletes; their records live in the
apiserver too."""

from simpipe_kwok_scaler.clusters.kube import Kube
from simpipe_kwok_scaler.clusters.service import QuotaExceededError, VirtualClusters

__all__ = ["Kube", "QuotaExceededError", "VirtualClusters"]
