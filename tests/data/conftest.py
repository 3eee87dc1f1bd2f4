from __future__ import annotations

import pytest

from tests.data.imageserver import ImageServer


@pytest.fixture(scope="module")
def image_server():
    server = ImageServer(stall_s=6.0).start()
    yield server
    server.stop()


@pytest.fixture()
def online(monkeypatch):
    """The test session runs huggingface_hub offline; these tests talk to the loopback stand-in."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
