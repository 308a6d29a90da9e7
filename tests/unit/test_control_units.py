"""systemd's `systemctl reload` must reach the bot as SIGHUP (its reload signal), in both units."""

from __future__ import annotations

import pytest

from tests.unit.test_deploy_units import UNITS, parse_unit, read


@pytest.mark.parametrize("name", UNITS)
def test_reload_sends_sighup_to_the_main_process(name: str) -> None:
    svc = parse_unit(read(name))["Service"]
    assert svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
