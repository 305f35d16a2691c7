"""configstore providers, the items µTask reads, and the one-line errors of every bad configuration."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from utask.core.config import (
    ALWAYS_CONCEALED,
    ConfigError,
    ConfigStore,
    DatabaseConfig,
    Item,
    UtaskConfig,
    development_settings,
    load_settings,
)
from utask.core.gojson import JSONNumber

from .conftest import DEV_KEY, utask_env


# -- providers ---------------------------------------------------------------------------------------------
def test_env_provider_keys_and_priority() -> None:
    store = ConfigStore.from_spec("env:CFG", {"CFG_UTASK_CFG": "{}", "CFG_Basic_Auth": "x", "OTHER": "y",
                                              "CFGX_NO": "z"})
    items = {it.key: it for it in store.items()}
    assert set(items) == {"utask-cfg", "basic-auth"}
    assert items["utask-cfg"].priority == 15
    # `env` alone: every variable is an item (configstore's "env:all")
    everything = ConfigStore.from_spec("env", {"CFG_DATABASE": "x", "HOME": "/root"})
    assert {it.key for it in everything.items()} == {"cfg-database", "home"}


def test_file_provider_and_squash(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "- key: database\n  value: postgres://low\n  priority: 1\n"
        "- key: database\n  value: postgres://high\n  priority: 20\n"
        "- key: encryption-key\n  value: k1\n  priority: 5\n"
        "- key: encryption-key\n  value: k2\n  priority: 5\n"
        "- key: structured\n  value: {a: 1}\n"
    )
    store = ConfigStore.from_spec(f"file:{path}", {})
    assert store.require("database").value == "postgres://high"
    assert [it.value for it in store.get_all("encryption-key")] == ["k1", "k2"]  # same priority: both kept
    assert json.loads(store.require("structured").value) == {"a": 1}
    with pytest.raises(ConfigError, match="ambiguous"):
        store.get("encryption-key")
    # env (priority 15) beats a file item of priority 1, loses to one of priority 20
    both = ConfigStore.from_spec(f"file:{path},env:CFG", {"CFG_DATABASE": "postgres://env"})
    assert both.require("database").value == "postgres://high"


def test_filelist_provider(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- key: foo\n  value: bar\n")
    (tmp_path / "b.yaml").write_text("- key: baz\n  value: qux\n  priority: 3\n")
    store = ConfigStore.from_spec(f"filelist:{tmp_path}", {})
    assert store.require("foo").value == "bar" and store.require("baz").priority == 3
    # the `+refresh` variants load the same items (read once: the server reads its configuration at start)
    assert [it.value for it in ConfigStore.from_spec(f"filelist+refresh:{tmp_path}", {}).items()] == ["bar", "qux"]
    assert ConfigStore.from_spec(f"file+refresh:{tmp_path / 'a.yaml'}", {}).require("foo").value == "bar"


def test_filetree_provider_like_kubernetes_secrets(tmp_path: Path) -> None:
    (tmp_path / "database").write_text("postgres://tree")
    (tmp_path / "Utask_Cfg").write_text('{"admin_usernames": ["a"]}')
    keys = tmp_path / "encryption-key"
    keys.mkdir()
    (keys / "old").write_text(json.dumps({**DEV_KEY, "timestamp": 1}))
    (keys / "new").write_text(json.dumps({**DEV_KEY, "timestamp": 2, "key": "cd" * 32}))
    (tmp_path / "..data").mkdir()  # the symlink farm of a mounted secret: skipped
    (tmp_path / "..data" / "ignored").write_text("x")
    store = ConfigStore.from_spec(f"filetree:{tmp_path}", {})
    assert store.require("database").value == "postgres://tree"
    assert store.require("utask-cfg").priority == 10  # capitalised file name: higher priority
    assert len(store.get_all("encryption-key")) == 2
    assert store.require("encryption-key/new").value.startswith("{")


def test_full_settings_from_env() -> None:
    env = utask_env(CFG_CALLBACK_CONFIG='{"base_url": "http://cb.example", "path_prefix": "/cb"}',
                    CFG_UTASK_CFG=json.dumps({
                        "admin_usernames": ["admin"], "completed_task_expiration": "48h",
                        "resource_acquire_timeout": "30s", "delay_between_crashed_tasks_resolution": "500ms",
                        "database_config": {"max_open_conns": 10, "max_idle_conns": -1},
                        "steps_compression_algorithm": "gzip", "server_options": {"max_body_bytes": 1024},
                        "resource_limits": {"http": 3}, "sandbox": {"layers": {"seccomp": "required"}},
                        "notify_config": {"hook": {"type": "webhook", "config": {}}},
                        "notify_actions": {"task_validation": {"disabled": True, "notify_backends": ["hook"]}},
                    }))
    s = load_settings(env)
    assert s is not None and s.database_url.startswith("postgres://user:pass@db/utask")
    u = s.utask
    assert u.completed_task_expiration == timedelta(hours=48)
    assert u.resource_acquire_timeout == timedelta(seconds=30)
    assert u.delay_between_crashed_tasks_resolution == timedelta(milliseconds=500)
    assert u.database_config == DatabaseConfig(max_open_conns=10, max_idle_conns=30)
    assert u.database_config.pool_options() == {"pool_size": 10, "max_overflow": 0, "pool_recycle": 60}
    assert u.steps_compression_algorithm == "gzip" and u.max_body_bytes == 1024
    assert u.resource_limits == {"http": 3}
    assert u.sandbox == {"layers": {"seccomp": "required"}}
    assert u.notify_actions["task_validation"].disabled and not u.notify_actions["task_step_update"].disabled
    assert s.basic_auth == {"admin": "1234", "resolver": "3456"}
    assert s.groups_auth == {"admins": ["admin"]}
    assert s.callback is not None and s.callback.base_url == "http://cb.example" and s.callback.path_prefix == "/cb"
    assert s.keyring.newest.timestamp == 1535627466


def test_defaults() -> None:
    u = UtaskConfig.from_dict({"admin_groups": ["admins"], "admin_username": ["typo"]})
    assert u.unknown_keys == ["admin_username"]
    assert u.completed_task_expiration == timedelta(hours=720)
    assert u.resource_acquire_timeout == timedelta(minutes=1)
    assert u.delay_between_crashed_tasks_resolution == timedelta(seconds=1)
    assert (u.max_concurrent_executions, u.max_concurrent_executions_from_crashed) == (100, 20)
    assert u.steps_compression_algorithm == "noop" and u.max_body_bytes == 262144
    assert u.database_config == DatabaseConfig(50, 30, 60, "database")
    assert u.concealed_secrets == ALWAYS_CONCEALED


def test_missing_callback_config_is_not_a_startup_error() -> None:
    s = load_settings(utask_env())
    assert s is not None and s.callback is None
    s = load_settings(utask_env(CFG_UTASK_CFG='{"admin_usernames": ["a"], "base_url": "http://u"}'))
    assert s is not None and s.callback is not None and s.callback.base_url == "http://u"
    # a path prefix without a base URL is kept: callback URLs are then relative, under that prefix
    s = load_settings(utask_env(CFG_CALLBACK_CONFIG='{"path_prefix": "/api/cb"}'))
    assert s is not None and s.callback is not None and (s.callback.base_url, s.callback.path_prefix) == ("", "/api/cb")


def test_template_config_items_conceal_secrets_and_keep_numbers_exact() -> None:
    env = utask_env(CFG_MY_NUMBERS='{"big": 12345678901234567890, "f": 2.50}', CFG_MY_YAML="a: 1.50\nb: [x, 2]",
                    CFG_TEXT="just: some: text", CFG_EMPTY="", CFG_SECRET="s3cret",
                    CFG_UTASK_CFG='{"admin_usernames": ["a"], "concealed_secrets": ["secret"]}')
    s = load_settings(env)
    assert s is not None
    cfg = s.template_config_items()
    assert set(cfg) == {"my-numbers", "my-yaml", "text"}
    assert cfg["my-numbers"] == {"big": JSONNumber("12345678901234567890"), "f": JSONNumber("2.50")}
    assert isinstance(cfg["my-numbers"]["f"], JSONNumber)
    assert cfg["my-yaml"] == {"a": JSONNumber("1.50"), "b": ["x", JSONNumber("2")]}
    assert cfg["text"] == "just: some: text"


def test_development_settings(tmp_path: Path) -> None:
    s1 = development_settings("host=/tmp dbname=utask", tmp_path)
    key_file = tmp_path / "encryption-key.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    s2 = development_settings("host=/tmp dbname=utask", tmp_path)
    assert s1.keyring.newest.timestamp == s2.keyring.newest.timestamp
    assert s1.keyring.decrypt(s2.keyring.encrypt(b"x", "id"), "id") == b"x"  # same key across restarts
    assert s1.basic_auth == {"admin": "1234"} and s1.utask.admin_usernames == ("admin",)
    assert s1.development and "database" not in s1.template_config_items()


# -- every bad configuration: one line naming the item ------------------------------------------------------
BAD = [
    ({"CFG_UTASK_CFG": None}, "utask-cfg", "no item found"),
    ({"CFG_DATABASE": None}, "database", "no item found"),
    ({"CFG_ENCRYPTION_KEY": None}, "encryption-key", "no item found"),
    ({"CFG_UTASK_CFG": "{not json"}, "utask-cfg", "invalid JSON"),
    ({"CFG_UTASK_CFG": "[]"}, "utask-cfg", "must be a JSON object"),
    ({"CFG_UTASK_CFG": "{}"}, "utask-cfg", "Admin user list can't be empty"),
    ({"CFG_UTASK_CFG": '{"admin_usernames": "admin"}'}, "utask-cfg", '"admin_usernames" must be a list of strings'),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "resource_acquire_timeout": "1d"}'}, "utask-cfg",
     'failed to parse "resource_acquire_timeout": time: unknown unit "d" in duration "1d"'),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "delay_between_crashed_tasks_resolution": "5"}'}, "utask-cfg",
     'failed to parse "delay_between_crashed_tasks_resolution": time: missing unit in duration "5"'),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "completed_task_expiration": 5}'}, "utask-cfg",
     'failed to parse "completed_task_expiration"'),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "steps_compression_algorithm": "zstd"}'}, "utask-cfg",
     "zstd compression algorithm not found"),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "max_concurrent_executions": 5}'}, "utask-cfg",
     "max_concurrent_executions_from_crashed can't be greater than max_concurrent_executions"),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "notify_config": {"x": {"type": "pigeon"}}}'}, "utask-cfg",
     "failed to identify backend type: pigeon"),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "resource_limits": {"x": -1}}'}, "utask-cfg",
     'resource_limits "x" must be a non-negative integer'),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "database_config": {"max_open_conns": "10"}}'}, "utask-cfg",
     '"max_open_conns" must be an integer'),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "sandbox": []}'}, "utask-cfg", '"sandbox" must be an object'),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "audit_retention": "-2h"}'}, "utask-cfg",
     '"audit_retention" must not be negative'),
    ({"CFG_UTASK_CFG": '{"admin_usernames": ["a"], "dashboard_sentry_dsn": "https://k@s.io/1\\"</script>"}'},
     "utask-cfg", '"dashboard_sentry_dsn" must be a path or a URL: it contains \'"\', \'<\', \'>\''),
    ({"CFG_ENCRYPTION_KEY": "nope"}, "encryption-key", "invalid JSON"),
    ({"CFG_ENCRYPTION_KEY": json.dumps({**DEV_KEY, "key": "abc"})}, "encryption-key", "key must be 32 bytes"),
    ({"CFG_ENCRYPTION_KEY": json.dumps({**DEV_KEY, "cipher": "rot13"})}, "encryption-key", 'unsupported cipher "rot13"'),
    ({"CFG_ENCRYPTION_KEY": json.dumps({**DEV_KEY, "identifier": "other"})}, "encryption-key",
     'no key with identifier "storage"'),
    ({"CFG_ENCRYPTION_KEY": json.dumps([DEV_KEY, {**DEV_KEY, "key": "cd" * 32}])}, "encryption-key",
     "ambiguous config: several encryption keys conflicting for 'storage'"),
    ({"CFG_ENCRYPTION_KEY": json.dumps({**DEV_KEY, "sealed": True})}, "encryption-key", "sealed keys are not supported"),
    ({"CFG_BASIC_AUTH": '["admin"]'}, "basic-auth", "must be a JSON object"),
    ({"CFG_BASIC_AUTH": "{"}, "basic-auth", "invalid JSON"),
    ({"CFG_GROUPS_AUTH": '{"admins": "admin"}'}, "groups-auth", "must be a JSON object"),
    ({"CFG_CALLBACK_CONFIG": '"http://x"'}, "callback-config", "must be a JSON object"),
    ({"CFG_DATABASE": " "}, "database", "empty database URL"),
]


@pytest.mark.parametrize(("change", "item", "text"), BAD, ids=[f"{b[1]}:{b[2][:30]}" for b in BAD])
def test_bad_configuration_is_one_line_naming_the_item(change: dict, item: str, text: str) -> None:
    env = utask_env()
    for k, v in change.items():
        if v is None:
            env.pop(k)
        else:
            env[k] = v
    with pytest.raises(ConfigError) as e:
        load_settings(env)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f'configuration item "{item}": ')
    assert text in message


@pytest.mark.parametrize(("spec", "text"), [
    ("pigeon:/x", 'provider "pigeon:/x": failed to instantiate provider factory'),
    ("file:/nonexistent/cfg.yaml", 'provider "file:/nonexistent/cfg.yaml": No such file or directory'),
    ("filetree:/nonexistent", 'provider "filetree:/nonexistent": No such file or directory'),
])
def test_bad_provider(spec: str, text: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_settings({"CONFIGURATION_FROM": spec})
    assert text in str(e.value) and "\n" not in str(e.value)


def test_bad_yaml_file(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("- key: [unclosed\n  value: x\n")
    with pytest.raises(ConfigError) as e:
        load_settings({"CONFIGURATION_FROM": f"file:{p}"})
    assert "invalid YAML" in str(e.value) and "\n" not in str(e.value)
    p.write_text("key: x\n")
    with pytest.raises(ConfigError, match="expected a YAML list"):
        load_settings({"CONFIGURATION_FROM": f"file:{p}"})


def test_no_configuration_means_embedded_default() -> None:
    assert load_settings({}) is None
    assert load_settings({"CONFIGURATION_FROM": " "}) is None


def test_item_dataclass() -> None:
    assert Item("a", "b").priority == 0


def test_files_of_a_concealed_filetree_folder_are_concealed_too(tmp_path) -> None:
    """Mounted like a Kubernetes secret: `encryption-key/current` must not reach templates either."""
    import json as _json

    from utask.core.config.settings import load_settings

    (tmp_path / "encryption-key").mkdir()
    key = {"identifier": "storage", "cipher": "aes-gcm", "timestamp": 1, "key": "ab" * 32}
    (tmp_path / "encryption-key" / "current").write_text(_json.dumps(key))
    (tmp_path / "database").write_text("postgres://u:p@db/utask")
    (tmp_path / "utask-cfg").write_text(_json.dumps({"admin_usernames": ["admin"]}))
    (tmp_path / "team").write_text("blue")
    settings = load_settings({"CONFIGURATION_FROM": f"filetree:{tmp_path}"})
    exposed = settings.template_config_items()
    assert exposed == {"team": "blue"}
