"""Self-made webhook TLS: the certificate verifies against its CA in a real TLS handshake."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509

from masker_operator.tls import load_cert_dir, make_serving_cert, webhook_hostnames


def test_hostnames_cover_the_service_dns_forms() -> None:
    names = webhook_hostnames("hook", "masker-system", ("127.0.0.1",))
    assert names == [
        "hook",
        "hook.masker-system",
        "hook.masker-system.svc",
        "hook.masker-system.svc.cluster.local",
        "127.0.0.1",
    ]


def test_certificate_sans_and_issuer() -> None:
    cert = make_serving_cert(["hook.ns.svc", "127.0.0.1"])
    leaf = x509.load_pem_x509_certificate(cert.cert_pem)
    ca = x509.load_pem_x509_certificate(cert.ca_pem)
    leaf.verify_directly_issued_by(ca)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["hook.ns.svc"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_tls_handshake_on_loopback(tmp_path: Path) -> None:
    cert = make_serving_cert(["127.0.0.1"])
    ca_file, cert_file, key_file = cert.write(tmp_path)
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert load_cert_dir(tmp_path) == cert
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.recv(2) == b"ok"
        thread.join(5)
