"""The examples run, and `pip install ./bindings/python` gives an importable package."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import time

import pytest

from conftest import LIB, PKG_DIR, TIMEOUT, cert, stdlib_client_ctx
from test_interop import c_server  # noqa: F401 - fixture

ENV = dict(os.environ, FERROTLS_LIBRARY=str(LIB), PYTHONPATH=str(PKG_DIR))


def test_https_get_example(c_server):  # noqa: F811
    port = c_server()
    r = subprocess.run([sys.executable, str(PKG_DIR / "examples" / "https_get.py"), "--cafile",
                        cert("ca.pem"), "https://localhost:%d/" % port],
                       env=ENV, capture_output=True, timeout=TIMEOUT + 5)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.startswith(b"HTTP/1.0 200"), r.stdout[:200]
    assert b"TLSv1.3" in r.stderr


def test_https_get_example_rejects_unknown_ca(c_server):  # noqa: F811
    port = c_server()
    r = subprocess.run([sys.executable, str(PKG_DIR / "examples" / "https_get.py"), "--cafile",
                        cert("other-ca.pem"), "https://localhost:%d/" % port],
                       env=ENV, capture_output=True, timeout=TIMEOUT + 5)
    assert r.returncode == 1 and b"certificate rejected" in r.stderr


def test_echo_server_example():
    p = subprocess.Popen([sys.executable, str(PKG_DIR / "examples" / "echo_server.py"), "--cert",
                          cert("server.pem"), "--key", cert("server.key"), "--port", "0",
                          "--max-conns", "2"], env=ENV, stderr=subprocess.PIPE)
    try:
        deadline, port = time.monotonic() + TIMEOUT, None
        while port is None and time.monotonic() < deadline:
            if select.select([p.stderr], [], [], 0.5)[0]:
                m = re.search(rb"listening on [^:]+:(\d+)", p.stderr.readline())
                port = int(m.group(1)) if m else None
        assert port, "echo_server.py did not report its port"
        for i in range(2):
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
                with stdlib_client_ctx().wrap_socket(raw, server_hostname="localhost") as s:
                    s.sendall(b"echo %d" % i)
                    assert s.recv(100) == b"echo %d" % i
                    s.unwrap()
        assert p.wait(TIMEOUT) == 0
    finally:
        p.kill()
        p.wait(TIMEOUT)


def test_pip_install(tmp_path):
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--no-build-isolation", "--target", str(target), str(PKG_DIR)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / "ferrotls" / "_lib.py").is_file()
    env = dict(os.environ, FERROTLS_LIBRARY=str(LIB), PYTHONPATH=str(target))
    r = subprocess.run([sys.executable, "-c", "import ferrotls, sys; print(ferrotls.__file__); "
                        "print(ferrotls.FERROTLS_VERSION)"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert str(target) in r.stdout and "ferrotls" in r.stdout
