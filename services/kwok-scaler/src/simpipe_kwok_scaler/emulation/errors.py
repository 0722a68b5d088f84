"""Why a pod cannot be emulated: its content (user-influenced) is not what
Argo writes. Never raised out of the emulation loop: the pod is skipped and
counted."""


class UnusablePodError(ValueError):
    """`reason` is a short metric label; the message says what was wrong."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
