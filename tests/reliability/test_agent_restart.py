"""An agent killed with kill -9 keeps the database lease until it expires; its restart on the
same machine (which now holds the machine's lock file) used to exit at once with 'another agent
holds the lease' (found by test_crashes). A holder from this machine is taken over; an agent on
another machine is still kept out."""

from __future__ import annotations

from pathlib import Path

import pytest

from quarantine_server.agent import AgentAlreadyRunning, take_lease, take_lock

from .helpers import quarantine_app


def test_a_restarted_agent_takes_over_the_lease_of_its_dead_predecessor(tmp_path: Path) -> None:
    qs = quarantine_app(tmp_path / "data")
    try:
        take_lease(qs.services, "box-1:1111", ttl_s=3600)  # then killed: lease not released
        lock = take_lock(tmp_path / "data")  # the restart gets the machine's lock file ...
        take_lease(qs.services, "box-1:2222", ttl_s=3600)  # ... and the lease, without waiting
        with pytest.raises(AgentAlreadyRunning, match="box-1:2222"):
            take_lease(qs.services, "box-2:3333", ttl_s=3600)  # another machine stays out
        with pytest.raises(AgentAlreadyRunning):
            take_lock(tmp_path / "data")  # and a second agent here too
        lock.release()
    finally:
        qs.close()


def test_host_names_with_like_wildcards_do_not_match_others(tmp_path: Path) -> None:
    qs = quarantine_app(tmp_path / "data")
    try:
        take_lease(qs.services, "boxA:1", ttl_s=3600)
        with pytest.raises(AgentAlreadyRunning):
            take_lease(qs.services, "box%:2", ttl_s=3600)
        with pytest.raises(AgentAlreadyRunning):
            take_lease(qs.services, "box_:2", ttl_s=3600)
    finally:
        qs.close()
