"""What the alternating strategy's setSecret says it did, rotation by rotation (the log is how an
operator tells a first rotation, which creates the alternate login, from a routine one)."""

from __future__ import annotations


def set_secret_messages(caplog) -> list[str]:
    found = [r.getMessage() for r in caplog.records
             if r.name.startswith("rotation") and r.getMessage().startswith("setSecret:")]
    caplog.clear()
    return found


def test_alternating_logs_say_which_login_was_created_or_changed(db, make_secret, handler_env, caplog):
    handler_env.setenv("ROTATION_STRATEGY", "alternating-users")
    side = make_secret(db.login_secret())
    caplog.clear()
    side.rotate()   # primary -> alternate: the alternate is created
    first = set_secret_messages(caplog)
    assert any("created the alternate user" in m for m in first), first
    assert not any("changed the password of the" in m for m in first), first
    side.rotate()   # alternate -> primary: the primary changes its own password
    second = set_secret_messages(caplog)
    assert any("changed the password of the primary user" in m for m in second), second
    assert not any("created the alternate user" in m for m in second), second
    side.rotate()   # primary -> alternate again: the alternate exists
    third = set_secret_messages(caplog)
    assert any("changed the password of the alternate user" in m for m in third), third
    assert db.can_login(side.value()["username"], side.value()["password"])
