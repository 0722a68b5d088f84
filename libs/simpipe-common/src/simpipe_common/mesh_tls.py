"""A service's TLS identity in the mesh: the CA it trusts and its own
certificate and key, read from the files its settings name.

The same certificate serves the service's gRPC port and calls the others:
servers require a client certificate signed by the CA, clients check the
server's against it. Files are read when a server or channel is made: a
renewed certificate (cert-manager rotates them) takes effect at restart.
"""

from dataclasses import dataclass
from pathlib import Path

import grpc

from simpipe_common.errors import StartupError
from simpipe_common.settings import ServiceSettings

INSECURE_HINT = "SIMPIPE_MESH_INSECURE=true turns this off, for tests only"


@dataclass(frozen=True)
class MeshTls:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def read(cls, ca_file: Path, cert_file: Path, key_file: Path) -> "MeshTls":
        """The three PEM files; StartupError naming the one that is missing or not PEM."""
        found = []
        for name, path, marker in (
            ("SIMPIPE_TLS_CA_FILE", ca_file, b"-----BEGIN CERTIFICATE-----"),
            ("SIMPIPE_TLS_CERT_FILE", cert_file, b"-----BEGIN CERTIFICATE-----"),
            ("SIMPIPE_TLS_KEY_FILE", key_file, b"PRIVATE KEY-----"),
        ):
            try:
                data = path.read_bytes()
            except OSError as error:
                raise StartupError(f"{name}={path}: {error.strerror or error}") from None
            if marker not in data:
                raise StartupError(f"{name}={path}: not a PEM file")
            found.append(data)
        return cls(*found)

    def server_credentials(self) -> grpc.ServerCredentials:
        """Only callers with a certificate signed by the mesh's CA get through."""
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)],
            root_certificates=self.ca_pem,
            require_client_auth=True,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Presents this service's certificate; trusts only servers the mesh's CA signed."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem,
            private_key=self.key_pem,
            certificate_chain=self.cert_pem,
        )


def mesh_tls(settings: ServiceSettings) -> MeshTls | None:
    """The service's TLS identity; None when the mesh runs without (tests).
    StartupError when the files are not all set and readable."""
    if settings.mesh_insecure:
        return None
    files = (settings.tls_ca_file, settings.tls_cert_file, settings.tls_key_file)
    if files[0] is None or files[1] is None or files[2] is None:
        raise StartupError(
            "gRPC inside the mesh needs mTLS: set SIMPIPE_TLS_CA_FILE, SIMPIPE_TLS_CERT_FILE"
            f" and SIMPIPE_TLS_KEY_FILE ({INSECURE_HINT})"
        )
    return MeshTls.read(files[0], files[1], files[2])
