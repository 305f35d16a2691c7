"""The ssh plugin (reference §10.7) through the real sandbox against asyncssh servers started here: a
target running bash, and bastions forwarding `hop -- ... -- target` commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from utask.core.plugins import PluginConfigError
from utask_sdk.testing import plain

from .sshservers import USER, SSHServers


@pytest.fixture(scope="module")
def ssh() -> Iterator[SSHServers]:
    with SSHServers() as servers:
        yield servers


def cfg(ssh: SSHServers, script: str, **extra):
    return {"user": USER, "target": ssh.addr("target"), "script": script,
            "ssh_key": ssh.client_key.export_private_key().decode(), **extra}


def test_auto_result(box, ssh):
    result = box.run("ssh", cfg(ssh, "echo hello; X=42; echo oops >&2",
                                result={"x": "$X", "dir": "$(cd /tmp && pwd)", "quoted": '"a"b'}))
    assert result.error is None, result.error
    assert result.output == {"x": "42", "dir": "/tmp", "quoted": "ab"}
    md = result.metadata
    assert md["exit_code"] == "0" and md["exit_signal"] == "" and md["exit_msg"] == ""
    assert md["output"].startswith("hello\noops\n{")


def test_lastline_delimiters_disabled(box, ssh):
    result = box.run("ssh", cfg(ssh, "echo '{\"a\": 2.50, \"b\": [1, true]}'", output_mode="manual-lastline"))
    assert result.error is None and plain(result.output) == {"a": 2.5, "b": [1, True]}
    result = box.run("ssh", cfg(ssh, "echo 'x START{\"k\":\"v\"}END y'", output_mode="manual-delimiters",
                                output_manual_delimiters=["START", "END"]))
    assert result.error is None and result.output == {"k": "v"}
    result = box.run("ssh", cfg(ssh, "echo '{\"k\":1}'", output_mode="disabled"))
    assert result.error is None and result.output == {}


def test_exit_codes_and_signals(box, ssh):
    result = box.run("ssh", cfg(ssh, "echo '{\"p\":1}'; exit 5", output_mode="manual-lastline"))
    assert (result.error.kind, result.error.message) == ("server", "exit code: 5")
    assert plain(result.output) == {"p": 1} and result.metadata["exit_code"] == "5"
    result = box.run("ssh", cfg(ssh, "exit 5", exit_codes_unrecoverable=["5"]))
    assert (result.error.kind, result.error.message) == ("client", "Client error: exit code: 5: Process exited with status 5")
    result = box.run("ssh", cfg(ssh, "kill -KILL $$", output_mode="disabled"))
    assert result.error.message == "exit code: 137"
    assert result.metadata["exit_signal"] == "KILL" and result.metadata["exit_code"] == "137"
    assert result.metadata["exit_msg"] == "killed by a signal"


def test_timeout(box, ssh):
    result = box.run("ssh", cfg(ssh, "sleep 20", timeout="1s"))
    assert (result.error.kind, result.error.message) == ("server", "ssh session has not terminated before timeout")


def test_hops(box, ssh):
    one = box.run("ssh", cfg(ssh, "echo via-bastion; Y=7", hops=[ssh.addr("bastion1")], result={"y": "$Y"}))
    assert one.error is None, one.error
    assert one.output == {"y": "7"} and one.metadata["output"].startswith("via-bastion\n")
    two = box.run("ssh", cfg(ssh, "exit 3", hops=[ssh.addr("bastion1"), ssh.addr("bastion2")]))
    assert two.error.message == "exit code: 3"


def test_keys_and_auth(box, ssh):
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    bad = box.run("ssh", cfg(ssh, "true") | {"ssh_key": "not a key"})
    assert bad.error.kind == "client" and bad.error.message.startswith("ssh plugin: private key: ")
    encrypted = ssh.client_key.export_private_key(passphrase="pw").decode()
    ok = box.run("ssh", cfg(ssh, "echo '{}'") | {"ssh_key": encrypted, "ssh_key_passphrase": "pw"})
    assert ok.error is None, ok.error
    wrong_pass = box.run("ssh", cfg(ssh, "true") | {"ssh_key": encrypted, "ssh_key_passphrase": "no"})
    assert wrong_pass.error.kind == "client"
    denied = box.run("ssh", cfg(ssh, "true") | {"ssh_key": key.export_private_key().decode()})
    assert denied.error.kind == "server" and denied.error.message.startswith("ssh: handshake failed: ")
    refused = box.run("ssh", cfg(ssh, "true") | {"target": "127.0.0.1:1"})
    assert refused.error.message == "dial tcp 127.0.0.1:1: connect: connection refused"


def test_validation_and_resources(box, ssh):
    base = cfg(ssh, "true")
    box.validate("ssh", base)
    cases = [
        ({"user": ""}, "missing ssh username"),
        ({"target": ""}, "missing ssh target"),
        ({"ssh_key": ""}, "missing ssh key"),
        ({"hops": ["h"] * 11}, "ssh too many hops (max 10)"),
        ({"timeout": "x"}, 'can\'t parse timeout field "x": time: invalid duration "x"'),
        ({"timeout": "-1s"}, "timeout must be positive"),
        ({"output_mode": "nope"},
         'invalid value "nope" for output_mode, allowed values are: auto-result, disabled, manual-delimiters, '
         "manual-lastline"),
        ({"output_manual_delimiters": ["a", "b"]},
         'invalid parameter "output_manual_delimiters", output_mode is configured to "auto-result"'),
        ({"output_mode": "disabled", "result": {"a": "b"}},
         'invalid parameter "result", output_mode is configured to "disabled"'),
        ({"output_mode": "manual-delimiters"}, "wrong number of output_manual_delimiters, 2 expected, found 0"),
        ({"exit_codes_unrecoverable": ["1-1"]},
         'exit_codes_unrecoverable value "1-1" should have end exit_code superior to start exit_code'),
    ]
    for change, message in cases:
        with pytest.raises(PluginConfigError) as err:
            box.validate("ssh", base | change)
        assert str(err.value) == message, change
    assert box.resources("ssh", base | {"target": "t:22", "hops": ["h1", "h2:2222"]}) == \
        ["socket", "url:t:22", "url:h1", "url:h2:2222"]
