"""Target validation: each sender says clearly what is wrong with a contact method."""

from collections.abc import Mapping

import pytest

from watchkeeper.errors import Invalid
from watchkeeper.notify.message import Message
from watchkeeper.notify.netguard import AllowList
from watchkeeper.notify.senders import SENDERS, InvalidTarget, Sender, UpdatingSender, build_senders

from .test_push_senders import TWILIO

VALID: dict[str, Mapping[str, str]] = {
    "email": {"to": "a@example.com", "from": "wk@example.com", "host": "smtp.example.com"},
    "slack": {"token": "xoxb-1", "user": "U0123ABCDE"},
    "teams": {"url": "https://prod.westeurope.logic.azure.com/workflows/1?sig=x"},
    "telegram": {"bot_token": "1234:" + "a" * 35, "chat_id": "@oncall_team"},
    "ntfy": {"url": "https://ntfy.sh/oncall-alice"},
    "webhook": {"url": "http://10.0.0.5/hooks/wk", "secret": "s" * 16},
    "sms": {**TWILIO, "from": "MG" + "a" * 32},
    "voice": TWILIO,
    "apprise": {"url": "discord://1234567890/abcdefghijklmnop"},
}

INVALID = [
    ("email", {**VALID["email"], "to": "alice"}, "not a valid email address"),
    ("slack", {"token": "xoxb-1", "channel": "#general"}, "must be an ID"),
    ("slack", {"token": "abc", "channel": "C0123ABCDE"}, "xoxb-"),
    ("teams", {"url": "http://169.254.169.254/latest"}, "metadata"),
    ("teams", {"url": "gopher://example.com/"}, "only http and https"),
    ("telegram", {"bot_token": "nope", "chat_id": "1"}, "bot token"),
    ("telegram", {"bot_token": "1234:" + "a" * 35, "chat_id": "team"}, "chat ID"),
    ("ntfy", {"url": "https://ntfy.sh/"}, "must name a topic"),
    ("ntfy", {"url": "http://[fe80::1]/topic"}, "link-local"),
    ("webhook", {"url": "http://example.com/", "secret": "short"}, "at least 16"),
    ("webhook", {"url": "http://metadata.google.internal/", "secret": "s" * 16}, "metadata"),
    ("sms", {**TWILIO, "to": "0044 20 7946 0958"}, "E.164"),
    ("sms", {**TWILIO, "account_sid": "AB123"}, "account SID"),
    ("voice", {**TWILIO, "from": "MG" + "a" * 32}, "phone number as 'from'"),
    ("apprise", {"url": "nosuchservice://x"}, "does not recognize"),
    ("apprise", {"url": "json://169.254.169.254/latest"}, "metadata"),
]


def test_registry_has_every_method() -> None:
    assert set(SENDERS) == set(VALID)
    for method, sender in SENDERS.items():
        assert isinstance(sender, Sender)
        assert sender.method == method
    assert {m for m, s in SENDERS.items() if isinstance(s, UpdatingSender)} == {
        "slack",
        "telegram",
    }


@pytest.mark.parametrize("method", sorted(VALID))
def test_valid_settings_pass(method: str) -> None:
    assert SENDERS[method].validate_target(VALID[method])


@pytest.mark.parametrize(("method", "settings", "error"), INVALID)
def test_invalid_settings_are_explained(
    method: str, settings: Mapping[str, str], error: str
) -> None:
    with pytest.raises(InvalidTarget, match=error) as info:
        SENDERS[method].validate_target(settings)
    assert isinstance(info.value, Invalid)  # maps to HTTP 422 in the API


@pytest.mark.parametrize(("method", "settings", "error"), INVALID)
def test_sending_to_invalid_settings_fails_without_raising(
    method: str, settings: Mapping[str, str], error: str, message: Message
) -> None:
    outcome = SENDERS[method].send(settings, message)
    assert (outcome.status, outcome.retryable) == ("failed", False)


def test_allow_list_reaches_every_sender() -> None:
    senders = build_senders(allow=AllowList.parse(["169.254.169.254"]))
    senders["webhook"].validate_target({"url": "http://169.254.169.254/", "secret": "s" * 16})
