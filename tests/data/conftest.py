from __future__ import annotations

import pytest

from tests.data.imageserver import ImageServer


@pytest.fixture(scope="module")
def image_server():
    server = ImageServer(stall_s=6.0).start()
    yield server
    server.stop()
