"""The Mongo dispatch store answers as the in-memory fake of the unit tier does."""
from __future__ import annotations

import pytest

from tests.factories.dispatch import dispatch_store
from tests.fakes.dispatch_store_contract import DispatchStoreContract

pytestmark = pytest.mark.integration


class TestMongoDispatchStore(DispatchStoreContract):
    @pytest.fixture
    def store(self, mongo_client, db_names):
        return dispatch_store(mongo_client, db_names)
