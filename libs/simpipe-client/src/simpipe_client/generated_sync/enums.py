from enum import Enum


class DryRunNodePhase(str, Enum):
    Pending = "Pending"
    Running = "Running"
    Succeeded = "Succeeded"
    Skipped = "Skipped"
    Failed = "Failed"
    Error = "Error"
    Omitted = "Omitted"
    Unknown = "Unknown"


class DryRunNodeType(str, Enum):
    Pod = "Pod"
    Container = "Container"
    Steps = "Steps"
    StepGroup = "StepGroup"
    DAG = "DAG"
    TaskGroup = "TaskGroup"
    Retry = "Retry"
    Skipped = "Skipped"
    Suspend = "Suspend"
    HTTP = "HTTP"
    Plugin = "Plugin"


class DryRunPhase(str, Enum):
    Pending = "Pending"
    Running = "Running"
    Suspended = "Suspended"
    Succeeded = "Succeeded"
    Failed = "Failed"
    Error = "Error"
    Unknown = "Unknown"


class Placement(str, Enum):
    REAL_NODES = "REAL_NODES"
    VIRTUAL_NODES = "VIRTUAL_NODES"


class Sandbox(str, Enum):
    NONE = "NONE"
    GVISOR = "GVISOR"


class SimulationPhase(str, Enum):
    Pending = "Pending"
    Running = "Running"
    Succeeded = "Succeeded"
    Failed = "Failed"
    Cancelled = "Cancelled"
    Error = "Error"
    Unknown = "Unknown"


class TaintEffect(str, Enum):
    NoSchedule = "NoSchedule"
    PreferNoSchedule = "PreferNoSchedule"
    NoExecute = "NoExecute"
