import os

import pytest

from sandbox.testing import start_sandbox
from tests.support.sandbox import SandboxClient, point_settings_at


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-ca"))
    yield running
    running.stop()


@pytest.fixture
def sandbox_client(sandbox, settings) -> SandboxClient:
    point_settings_at(settings, sandbox)
    client = SandboxClient(sandbox.http_url)
    client.reset()
    return client


@pytest.fixture(autouse=True)
def _oauthlib_over_http(monkeypatch):
    # The sandbox speaks plain http; oauthlib refuses that unless told (sandbox only).
    monkeypatch.setitem(os.environ, "OAUTHLIB_INSECURE_TRANSPORT", "1")
