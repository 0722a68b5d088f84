"""The local stack's mesh CA and certificates: made once, renewed when
they would not do."""

import stat
from pathlib import Path

from simpipe_common.mesh_pki import Authority, certificate_names, issued_by, key_matches
from simpipe_devstack.mesh_pki import MeshPki
from simpipe_devstack.mesh_users import MESH_IDENTITIES


def test_a_ca_and_a_certificate_per_identity_are_made_once(tmp_path: Path) -> None:
    pki = MeshPki(tmp_path / "pki")
    assert pki.ensure(MESH_IDENTITIES) == ["CA", *MESH_IDENTITIES]
    assert pki.ensure(MESH_IDENTITIES) == []
    ca = pki.ca_file.read_bytes()
    for identity in MESH_IDENTITIES:
        files = pki.files(identity)
        cert = files.cert.read_bytes()
        assert issued_by(cert, ca)
        assert key_matches(cert, files.key.read_bytes())
        assert certificate_names(cert)[0] == identity
        assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(pki.directory.stat().st_mode) == 0o700


def test_what_would_not_do_is_issued_again(tmp_path: Path) -> None:
    pki = MeshPki(tmp_path / "pki")
    pki.ensure(["gateway", "tests", "argo-watcher"])
    authority = Authority(pki.ca_file.read_bytes(), (pki.directory / "ca-key.pem").read_bytes())
    # About to expire; a key that is not the certificate's (a write cut short).
    pki.files("gateway").cert.write_bytes(authority.issue("gateway", days=5).cert_pem)
    pki.files("tests").key.write_bytes(authority.issue("tests").key_pem)
    assert pki.ensure(["gateway", "tests", "argo-watcher"]) == ["gateway", "tests"]


def test_a_new_ca_issues_every_certificate_again(tmp_path: Path) -> None:
    pki = MeshPki(tmp_path / "pki")
    pki.ensure(["gateway"])
    pki.ca_file.unlink()
    assert pki.ensure(["gateway"]) == ["CA", "gateway"]
    assert issued_by(pki.files("gateway").cert.read_bytes(), pki.ca_file.read_bytes())


def test_a_service_reads_its_files_from_its_settings(tmp_path: Path) -> None:
    files = MeshPki(tmp_path).files("gateway")
    assert files.env() == {
        "SIMPIPE_TLS_CA_FILE": str(tmp_path / "ca.pem"),
        "SIMPIPE_TLS_CERT_FILE": str(tmp_path / "gateway.pem"),
        "SIMPIPE_TLS_KEY_FILE": str(tmp_path / "gateway-key.pem"),
    }
