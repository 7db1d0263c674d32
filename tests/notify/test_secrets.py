import pytest

from watchkeeper.notify.secrets import SecretBox, SecretDecryptError, is_encrypted


def test_round_trip() -> None:
    box = SecretBox("instance-secret-key")
    stored = box.encrypt("xoxb-123-abc")
    assert is_encrypted(stored)
    assert "xoxb" not in stored
    assert box.decrypt(stored) == "xoxb-123-abc"
    assert SecretBox("instance-secret-key").decrypt(stored) == "xoxb-123-abc"


def test_another_key_cannot_decrypt() -> None:
    stored = SecretBox("instance-secret-key").encrypt("token")
    with pytest.raises(SecretDecryptError):
        SecretBox("another-key").decrypt(stored)


def test_altered_or_plain_values_fail() -> None:
    box = SecretBox("k1")
    stored = box.encrypt("token")
    with pytest.raises(SecretDecryptError):
        box.decrypt(stored[:-4] + "AAAA")
    with pytest.raises(SecretDecryptError):
        box.decrypt("token")


def test_rotation_keeps_old_values_readable() -> None:
    old = SecretBox("old-key").encrypt("token")
    box = SecretBox("new-key", previous_keys=["old-key"])
    assert box.decrypt(old) == "token"
    rotated = box.rotate(old)
    assert SecretBox("new-key").decrypt(rotated) == "token"
