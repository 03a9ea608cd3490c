"""A locally generated CA for the sandbox: simple-salesforce only builds https:// URLs."""

from __future__ import annotations

from pathlib import Path

import trustme


def issue_server_certificate(directory: Path) -> tuple[Path, Path]:
    """Writes a fresh CA and a server certificate for 127.0.0.1/localhost.

    Returns (ca_path, server_pem_path); the server PEM holds the key and the chain. The CA is
    new on every start, so nothing trusts it beyond this sandbox's clients.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Leadloop sandbox")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca_path, server_path = directory / "ca.pem", directory / "server.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server.private_key_and_cert_chain_pem.write_to_path(str(server_path))
    server_path.chmod(0o600)
    return ca_path, server_path
