"""The ping plugin (reference §10.10) through the real sandbox, pinging 127.0.0.1.

The sandbox runs plugins as an unprivileged uid/gid (61000+): unprivileged ICMP sockets work only when
`net.ipv4.ping_group_range` includes that gid, and raw sockets need CAP_NET_RAW, which that uid lacks. So
under the full sandbox the outcome depends on the machine (µTask then reports nothing sent); with the uid
drop switched off (a test-only switch) the raw-socket fallback really pings.
"""

from __future__ import annotations

import os

import pytest
from utask.core.plugins import PluginConfigError
from utask_sdk.testing import Sandbox, plain


def test_full_sandbox(box):
    result = box.run("ping", {"hostname": "127.0.0.1"})
    assert result.error is None, result.error
    out = plain(result.output)
    assert result.metadata == {"hostname": "127.0.0.1"}
    assert out["ip_addr"] == "127.0.0.1"
    assert set(out) == {"packets_received", "packets_sent", "packet_loss", "ip_addr", "rtts", "min_rtt",
                        "max_rtt", "avg_rtt", "std_dev_rtt"}
    if out["packets_sent"] == 0:
        # The kernel refused both sockets (the usual case: ping_group_range excludes the sandbox's gid).
        assert out == {"packets_received": 0, "packets_sent": 0, "packet_loss": 0, "ip_addr": "127.0.0.1",
                       "rtts": None, "min_rtt": 0, "max_rtt": 0, "avg_rtt": 0, "std_dev_rtt": 0}
        assert any("ping_group_range" in line for line in result.logs)
    else:
        assert out["packets_received"] == 1 and len(out["rtts"]) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need the root worker's CAP_NET_RAW")
def test_raw_socket_fallback_without_uid_drop():
    with Sandbox(modules=["utask_plugin_ping"], entry_points=False, skip_layers=("uid-drop",)) as box:
        result = box.run("ping", {"hostname": "127.0.0.1", "count": "2", "interval_second": "0"})
    assert result.error is None, result.error
    out = plain(result.output)
    assert out["packets_sent"] == 2 and out["packets_received"] == 2 and out["packet_loss"] == 0
    assert str(result.output["packet_loss"]) == "0"  # Go's float64 text
    assert len(out["rtts"]) == 2 and all(isinstance(r, int) and r > 0 for r in out["rtts"])
    assert out["min_rtt"] <= out["avg_rtt"] <= out["max_rtt"]
    assert result.metadata == {"hostname": "127.0.0.1", "count": "2", "interval_second": "0"}


def test_validation_and_resources(box):
    box.validate("ping", {"hostname": "h", "count": "3", "interval_second": "2"})
    cases = [
        ({}, "hostname is missing"),
        ({"hostname": "h", "count": "-1"}, 'can\'t parse count field "-1": strconv.ParseUint: parsing "-1": invalid syntax'),
        ({"hostname": "h", "interval_second": "1s"},
         'can\'t parse interval_second field "1s": strconv.ParseUint: parsing "1s": invalid syntax'),
    ]
    for config, message in cases:
        with pytest.raises(PluginConfigError) as err:
            box.validate("ping", config)
        assert str(err.value) == message
    assert box.resources("ping", {"hostname": "example.org"}) == ["socket", "url:example.org"]

