from watchkeeper.notify.signature import signature_header, verify_signature

BODY = b'{"event":"notification.page"}'
SECRET = "a-signing-secret-of-some-length"
NOW = 1_772_445_600


def test_signature_verifies() -> None:
    header = signature_header(BODY, SECRET, NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert verify_signature(BODY, header, SECRET, now=NOW + 10)


def test_tampered_body_fails() -> None:
    header = signature_header(BODY, SECRET, NOW)
    assert not verify_signature(BODY.replace(b"page", b"chat"), header, SECRET, now=NOW)


def test_wrong_secret_old_timestamp_and_garbage_fail() -> None:
    header = signature_header(BODY, SECRET, NOW)
    assert not verify_signature(BODY, header, "another-secret", now=NOW)
    assert not verify_signature(BODY, header, SECRET, now=NOW + 301)
    assert not verify_signature(BODY, "v1=abc", SECRET, now=NOW)
    assert not verify_signature(BODY, "", SECRET, now=NOW)


def test_any_of_several_signatures_is_enough() -> None:
    good = signature_header(BODY, SECRET, NOW).split(",")[1]
    assert verify_signature(BODY, f"t={NOW},v1=deadbeef,{good}", SECRET, now=NOW)
