"""shared/refusals names every refusal a service's RPCs raise, so a caller recognises one without
importing that service."""
from __future__ import annotations

import pytest

from services.community.exceptions import CommunityError
from services.dispatch.exceptions import DispatchError
from services.reports.exceptions import ReportsError
from shared.refusals import COMMUNITY_REFUSALS, DISPATCH_REFUSALS, REPORTS_REFUSALS


def names(base: type) -> set[str]:
    return {base.__name__}.union(*(names(sub) for sub in base.__subclasses__()))


@pytest.mark.parametrize("base, listed", [(DispatchError, DISPATCH_REFUSALS), (ReportsError, REPORTS_REFUSALS),
                                          (CommunityError, COMMUNITY_REFUSALS)])
def test_every_refusal_a_service_raises_is_named_in_shared(base, listed):
    assert names(base) == set(listed)
