"""The registry enforces the interface: capabilities and operations go together."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from sokhan.networks import registry
from sokhan.networks.base import Connector
from sokhan.networks.errors import NotSupported, Rejected
from sokhan.networks.types import (
    Account,
    AuthKind,
    Capability,
    Credentials,
    Limits,
    MediaFile,
    MediaLimits,
    Profile,
    PublishRequest,
    PublishResult,
)


def make(capabilities: set[Capability], **methods: object) -> type[Connector]:
    attrs: dict[str, object] = {
        "key": "sample",
        "name": "Sample",
        "auth": AuthKind.ACCESS_TOKEN,
        "capabilities": frozenset(capabilities),
        "limits": Limits(max_text=100, media=MediaLimits(max_count=1, image_types=("image/png",))),
        "verify": lambda self: Profile(remote_id="1", handle="me"),
        **methods,
    }
    return type("Sample", (Connector,), attrs)


def test_declared_capability_needs_its_operation() -> None:
    cls = make({Capability.PROFILE_READ, Capability.DELETE})
    with pytest.raises(registry.RegistrationError, match="declares delete but does not implement delete"):
        registry.validate(cls)


def test_operation_needs_a_declared_capability() -> None:
    cls = make({Capability.PROFILE_READ}, like=lambda self, remote_id: None)
    with pytest.raises(registry.RegistrationError, match=r"implements like\(\) without declaring"):
        registry.validate(cls)


def test_every_connector_reads_its_profile() -> None:
    cls = make({Capability.DELETE}, delete=lambda self, remote_id: None)
    with pytest.raises(registry.RegistrationError, match="PROFILE_READ"):
        registry.validate(cls)


def test_oauth_connector_declares_its_flow() -> None:
    cls = make({Capability.PROFILE_READ}, auth=AuthKind.OAUTH2_PKCE)
    with pytest.raises(registry.RegistrationError, match="OAuthSpec"):
        registry.validate(cls)


def test_missing_operation_is_a_typed_error_and_publish_is_checked() -> None:
    cls = make(
        {Capability.PROFILE_READ, Capability.PUBLISH_TEXT},
        publish=lambda self, request: PublishResult(remote_id="x"),
    )
    registry.validate(cls)
    connector = cls(Account(), Credentials())
    with pytest.raises(NotSupported, match="Sample does not support likes"):
        connector.like("1")
    from pathlib import Path

    image = MediaFile(path=Path("a.png"), mime_type="image/png")
    with pytest.raises(Rejected, match="cannot publish images"):
        connector.check_publish(PublishRequest(text="hi", idempotency_key="k", media=(image,)))
    with pytest.raises(Rejected, match="cannot publish threads"):
        connector.check_publish(PublishRequest(text="hi", idempotency_key="k", thread=("two",)))
    connector.check_publish(PublishRequest(text="hi", idempotency_key="k"))


def test_networks_json_lists_every_registered_connector() -> None:
    out = io.StringIO()
    call_command("networks", "--json", stdout=out)
    listed = json.loads(out.getvalue())
    assert [item["key"] for item in listed] == sorted(c.key for c in registry.all_connectors())
    for item in listed:
        assert set(item) >= {"key", "name", "auth", "capabilities", "limits"}
        assert "profile_read" in item["capabilities"]
        assert item["limits"]["max_text"] > 0


def test_tests_cannot_reach_hosts_beyond_loopback() -> None:
    import socket

    from pytest_socket import SocketConnectBlockedError

    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("93.184.215.14", 443), timeout=1)
