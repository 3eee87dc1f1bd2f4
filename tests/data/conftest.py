from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from imageserver import ImageServer


@pytest.fixture(scope="module")
def image_server():
    server = ImageServer(stall_s=6.0).start()
    yield server
    server.stop()
