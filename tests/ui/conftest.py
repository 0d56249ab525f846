"""AppTest runs the app in this process with Streamlit's default options, whose server.address is unset
(every interface): set it to loopback, as `radsearch ui` does, unless a test says otherwise."""

from __future__ import annotations

import pytest
from streamlit import config


@pytest.fixture(autouse=True)
def loopback_server():
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)
