"""Every capability and auth kind a connector can declare has a label in the UI."""

from sokhan.channels.forms import AUTH_LABELS, CAPABILITY_LABELS
from sokhan.networks.types import AuthKind, Capability


def test_every_capability_and_auth_kind_has_a_label() -> None:
    assert set(CAPABILITY_LABELS) == set(Capability)
    assert set(AUTH_LABELS) == set(AuthKind)
