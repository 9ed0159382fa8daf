"""The in-memory dispatch store answers as the real one does (the real one: tests/integration)."""
from __future__ import annotations

import pytest

from tests.fakes.dispatch_store import FakeDispatchStore
from tests.fakes.dispatch_store_contract import DispatchStoreContract


class TestFakeDispatchStore(DispatchStoreContract):
    @pytest.fixture
    def store(self):
        return FakeDispatchStore()
