"""Settings of the emulation of what Argo's executor does in a real pod
(SIMPIPE_EMULATION_*): KWOK pods run no executor, so nothing else reports
their outputs or stops their daemons."""

from pydantic_settings import BaseSettings, SettingsConfigDict

from simpipe_common.settings import ENV_PREFIX


class EmulationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    emulation_enabled: bool = True
    # The label every virtual node carries (shared KWOK nodes and virtual
    # clusters alike) and that the submitter's VIRTUAL placement selects on.
    emulation_node_kind_label: str = "simpipe.io/node-kind"
    emulation_node_kind: str = "kwok"
    # Pods handled at once (each is one or two API calls).
    emulation_workers: int = 16
    # Argo's own bound on a step's captured result (256 KiB); the
    # simpipe.io/sim-outputs annotation may not be larger.
    emulation_max_outputs_bytes: int = 256 * 1024
    # An Argo template read from a pod (or its offloaded ConfigMap).
    emulation_max_template_bytes: int = 1024 * 1024
    # What a path-based output parameter or a captured result gets when the
    # run names no value and the template no default.
    emulation_placeholder: str = "simulated"
    # How often running virtual daemons are checked against their workflow.
    emulation_daemon_check_seconds: float = 1.0
    # The pod watch's server-side timeout (it resumes from where it was).
    emulation_watch_timeout_seconds: int = 300
    # Node names whose kind is remembered (a virtual node's kind never changes).
    emulation_node_cache_size: int = 50_000
    # One Kubernetes API call's deadline.
    emulation_kube_timeout_seconds: float = 15.0
