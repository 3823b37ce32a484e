"""Shared fixtures of the conformance suite: the project's simulators, started from the real `sfhs`
binary on free ports of 127.0.0.1, one per test module.

The binary is taken from SFHS_BIN, else from the cargo target directory (CARGO_TARGET_DIR, else
./target) as `debug/sfhs`; scripts/conformance builds it first.
"""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def sfhs_bin() -> str:
    explicit = os.environ.get("SFHS_BIN")
    if explicit:
        return explicit
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "debug" / "sfhs")


class Server:
    """A simulator process; `url` is the base URL it printed as its first line."""

    def __init__(self, args):
        self.proc = subprocess.Popen(
            [sfhs_bin(), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"sfhs {' '.join(args)} printed {line!r} instead of its URL")
        self.url = line.rstrip("/")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def sfhs():
    """The path of the `sfhs` binary under test."""
    return sfhs_bin()


@pytest.fixture(scope="module")
def hubspot_sim():
    """`sfhs sim hubspot` on a free port; yields its base URL."""
    server = Server(["sim", "hubspot", "--addr", "127.0.0.1:0"])
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def salesforce_sim():
    """`sfhs sim salesforce` (a small seeded org) on a free port; yields its base URL."""
    server = Server(["sim", "salesforce", "--addr", "127.0.0.1:0", "--accounts", "20"])
    yield server.url
    server.stop()


# A fixed refresh token the paged Salesforce simulator accepts (`--refresh-token`), as a tap's
# config file would hold one.
SALESFORCE_REFRESH_TOKEN = "5Aep861conformanceRefreshToken"


@pytest.fixture(scope="session")
def salesforce_refresh_token():
    """The refresh token `salesforce_sim_paged` accepts."""
    return SALESFORCE_REFRESH_TOKEN


@pytest.fixture(scope="module")
def salesforce_sim_paged():
    """`sfhs sim salesforce` with enough records for several REST pages (100 accounts, 300
    invoices, 600 lines), a configured refresh token, and replication windows of 1 ms (so the
    deleted/updated calls see changes of the current minute); yields its base URL."""
    server = Server(
        [
            "sim",
            "salesforce",
            "--addr",
            "127.0.0.1:0",
            "--accounts",
            "100",
            "--refresh-token",
            SALESFORCE_REFRESH_TOKEN,
            "--replication-granularity-ms",
            "1",
        ]
    )
    yield server.url
    server.stop()
