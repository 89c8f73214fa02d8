"""What the alternating strategy's setSecret says it did, rotation by rotation (the log is how an
operator tells a first rotation, which creates the alternate login, from a routine one)."""

from __future__ import annotations

import pytest


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


@pytest.mark.parametrize("strategy", ["single-user", "alternating-users"])
def test_a_rotation_that_asks_for_no_weaker_tls_logs_no_tls_warning(db, make_secret, handler_env, caplog, strategy):
    """The warning about an ignored TLS downgrade is for secrets that ask for one, not for every login."""
    import logging

    handler_env.setenv("ROTATION_STRATEGY", strategy)
    side = make_secret(db.login_secret())
    caplog.set_level(logging.INFO, logger="rotation.postgres_admin")
    side.rotate()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
