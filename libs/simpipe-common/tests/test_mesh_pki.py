"""The mesh's CA and the certificates it issues."""

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from simpipe_common.mesh_pki import (
    Authority,
    certificate_names,
    expires_at,
    issued_by,
    key_matches,
)


def test_a_certificate_names_its_identity_and_where_it_is_reached() -> None:
    issued = Authority.create().issue("argo-watcher", ("localhost", "127.0.0.1"))
    assert certificate_names(issued.cert_pem) == (
        "argo-watcher",
        frozenset({"argo-watcher", "localhost", "127.0.0.1"}),
    )
    cert = x509.load_pem_x509_certificate(issued.cert_pem)
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    # One certificate serves the service's port and calls the others'.
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_authority_signs_only_the_mesh_s_certificates() -> None:
    authority = Authority.create()
    ca = x509.load_pem_x509_certificate(authority.cert_pem)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 0)


def test_issued_by_tells_its_own_certificates_from_another_ca_s() -> None:
    ours, theirs = Authority.create(), Authority.create()
    cert = ours.issue("gateway").cert_pem
    assert issued_by(cert, ours.cert_pem)
    assert not issued_by(cert, theirs.cert_pem)
    assert not issued_by(theirs.issue("gateway").cert_pem, ours.cert_pem)


def test_a_key_matches_only_its_own_certificate() -> None:
    authority = Authority.create()
    one, other = authority.issue("gateway"), authority.issue("gateway")
    assert key_matches(one.cert_pem, one.key_pem)
    assert not key_matches(one.cert_pem, other.key_pem)
    assert not key_matches(one.cert_pem, b"not a key")


def test_a_certificate_lives_as_long_as_asked() -> None:
    issued = Authority.create().issue("tests", days=10)
    left = expires_at(issued.cert_pem) - datetime.now(UTC)
    assert timedelta(days=9) < left <= timedelta(days=10)
