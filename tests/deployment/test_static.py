"""The deployment files, checked without a Docker engine or a cluster: hadolint on the Dockerfiles,
the Compose specification schema on the compose files, Kubernetes' OpenAPI schemas on the manifests,
and what each one configures checked against what the server actually reads."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from utask.core.config import load_settings
from utask.core.crypto import generate_key_json

from .conftest import K8S, REPO, run, tool

# -- base image ----------------------------------------------------------------------------------------


def stages(path: Path) -> list[list[dict]]:
    """The Dockerfile's instructions, split per FROM (comments left out)."""
    out: list[list[dict]] = []
    for ins in DockerfileParser(str(path)).structure:
        if ins["instruction"] == "FROM":
            out.append([])
        if out and ins["instruction"] != "COMMENT":
            out[-1].append(ins)
    return out


def values(stage: list[dict], instruction: str) -> list[str]:
    return [ins["value"] for ins in stage if ins["instruction"] == instruction]


def test_base_dockerfile_passes_hadolint() -> None:
    done = run(tool("hadolint"), "--no-color", str(REPO / "Dockerfile"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_base_image_layout() -> None:
    builder, final = stages(REPO / "Dockerfile")
    assert values(builder, "FROM")[0].startswith("python:${PYTHON_VERSION}-slim") and "AS builder" in values(builder, "FROM")[0]
    assert values(final, "FROM")[0].startswith("python:${PYTHON_VERSION}-slim")
    args = [i["value"] for i in DockerfileParser(str(REPO / "Dockerfile")).structure if i["instruction"] == "ARG"]
    assert args[0] in ("PYTHON_VERSION=3.11", "PYTHON_VERSION=3.12")

    # SDK, server and every builtin plugin installed as wheels (no `-e`), in the builder only.
    install = " ".join(values(builder, "RUN"))
    assert "./sdk" in install and "./builtin-plugins/*" in install and " -e " not in install
    copied = {v.split()[0].rstrip("/") for v in values(builder, "COPY")}
    for name in ("sdk", "core", "hostapi", "builtin-plugins", "plugin-template", "setup.py", "pyproject.toml"):
        assert any(name in c for c in copied) or name in " ".join(values(builder, "COPY")), name
    assert values(final, "COPY") == ["--from=builder /opt/utask /opt/utask"]

    env = " ".join(values(final, "ENV"))
    for item in ("TEMPLATES=/app/templates", "FUNCTIONS=/app/functions", "SCRIPTS=/app/scripts"):
        assert item in env
    user = values(final, "USER")[-1]
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"  # numeric: runAsNonRoot can verify it
    assert "/unsecured/mon/ping" in values(final, "HEALTHCHECK")[0]
    assert json.loads(values(final, "ENTRYPOINT")[0]) == ["utask"]
    assert values(final, "EXPOSE") == ["8081"]


def test_builtin_plugins_and_server_sources_reach_the_build_context() -> None:
    """.dockerignore keeps tests and local state out, but nothing the builder COPYs."""
    ignored = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for needed in ("sdk", "core", "hostapi", "builtin-plugins", "plugin-template", "setup.py", "pyproject.toml",
                   "README.md"):
        assert needed not in ignored
    for kept_out in (".git", ".venv", "tests", "**/__pycache__", "**/*.egg-info"):
        assert kept_out in ignored
    plugins = sorted(p.parent.name for p in (REPO / "builtin-plugins").glob("*/pyproject.toml"))
    assert "echo" in plugins and len(plugins) >= 10


# -- docker-compose.yaml ----------------------------------------------------------------------------------


def validate_compose(path: Path) -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def compose_environment(path: Path) -> dict[str, str]:
    return yaml.safe_load(path.read_text())["services"]["utask"]["environment"]


def test_compose_file_follows_the_compose_specification() -> None:
    validate_compose(REPO / "docker-compose.yaml")


def test_compose_configures_the_server_like_utasks_compose() -> None:
    doc = yaml.safe_load((REPO / "docker-compose.yaml").read_text())
    utask, db = doc["services"]["utask"], doc["services"]["db"]
    assert utask["build"] == "." and utask["ports"] == ["8081:8081"]
    assert "./templates:/app/templates:ro" in utask["volumes"]
    assert utask["depends_on"]["db"]["condition"] == "service_healthy" and "healthcheck" in db
    env = utask["environment"]
    assert env["CONFIGURATION_FROM"] == "env:CFG"
    assert json.loads(env["CFG_BASIC_AUTH"])["admin"] == "1234"
    user, password = db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_PASSWORD"]
    assert env["CFG_DATABASE"] == f"postgres://{user}:{password}@db/{db['environment']['POSTGRES_DB']}?sslmode=disable"
    # The server accepts this configuration as it stands (the key parses, utask-cfg is valid).
    settings = load_settings(env)
    assert settings is not None and settings.basic_auth["admin"] == "1234" and len(settings.keyring.keys) == 1
    assert settings.callback is not None and not settings.utask.unknown_keys


# -- Kubernetes ---------------------------------------------------------------------------------------


def manifests() -> dict[str, list[dict]]:
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d]
            for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"}


@pytest.mark.parametrize("name", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_manifest_validates_against_the_kubernetes_schemas(name: str) -> None:
    for doc in yaml.safe_load_all((K8S / name).read_text()):
        if doc:
            # strict: an unknown (e.g. misspelt) field is an error, not silently dropped by the API server.
            kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_kustomization_lists_the_resources() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert all((K8S / r).exists() for r in kustomization["resources"])
    kinds = {doc["kind"] for r in kustomization["resources"] for doc in manifests()[r]}
    assert kinds == {"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget"}


def _by_kind() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for docs in manifests().values():
        for doc in docs:
            out.setdefault(doc["kind"], []).append(doc)
    return out


def test_deployment_probes_selectors_and_disruption_budget() -> None:
    kinds = _by_kind()
    (deployment,) = kinds["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    for other in kinds["Service"] + kinds["PodDisruptionBudget"]:
        selector = other["spec"]["selector"]
        assert selector.get("matchLabels", selector).items() <= labels.items()
    (container,) = spec["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] == "/unsecured/mon/ping"
    assert container["ports"][0]["containerPort"] == 8081
    pod_security = spec["template"]["spec"]["securityContext"]
    assert pod_security["runAsNonRoot"] is True and pod_security["runAsUser"] == 10001  # the image's uid


def _mounted_config(tmp_path: Path) -> dict[str, str]:
    """Lay out the ConfigMap and Secrets as the kubelet mounts them (with its hidden `..data` entries), with a
    real key in place of the placeholder, and return the container's environment."""
    kinds = _by_kind()
    (deployment,) = kinds["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    sources = {}
    for volume in pod["volumes"]:
        if "configMap" in volume:
            (cm,) = [c for c in kinds["ConfigMap"] if c["metadata"]["name"] == volume["configMap"]["name"]]
            sources[volume["name"]] = cm["data"]
        elif "secret" in volume:
            (secret,) = [s for s in kinds["Secret"] if s["metadata"]["name"] == volume["secret"]["secretName"]]
            sources[volume["name"]] = secret["stringData"]
    for mount in container["volumeMounts"]:
        if mount["name"] not in sources:
            continue
        directory = tmp_path / mount["mountPath"].lstrip("/")
        (directory / "..2026_01_01").mkdir(parents=True)
        for key, value in sources[mount["name"]].items():
            if key in ("current", "previous"):
                value = generate_key_json(timestamp=2 if key == "current" else 1)
            (directory / "..2026_01_01" / key).write_text(value)
            (directory / key).symlink_to(Path("..2026_01_01") / key)
    env = {e["name"]: e["value"] for e in container["env"]}
    env["CONFIGURATION_FROM"] = ",".join(
        f"filetree:{tmp_path / part.removeprefix('filetree:').lstrip('/')}"
        for part in env["CONFIGURATION_FROM"].split(","))
    return env


def test_the_server_reads_the_mounted_configuration_through_filetree(tmp_path: Path) -> None:
    env = _mounted_config(tmp_path)
    settings = load_settings(env)
    assert settings is not None
    assert settings.database_url.startswith("postgres://")
    assert len(settings.keyring.keys) == 1 and settings.callback is not None
    assert not settings.utask.unknown_keys
    assert "admin" in settings.utask.admin_usernames
    # Nothing secret reaches templates' `.config`, including the keys' per-file items.
    exposed = settings.template_config_items()
    assert not any(k.startswith(("database", "encryption-key", "basic-auth")) for k in exposed), exposed


def test_key_rotation_layout_gives_two_keys_the_newest_encrypting(tmp_path: Path) -> None:
    env = _mounted_config(tmp_path)
    keys_dir = Path(env["CONFIGURATION_FROM"].split(",")[-1].removeprefix("filetree:")) / "encryption-key"
    (keys_dir / "previous").write_text(generate_key_json(timestamp=1))
    settings = load_settings(env)
    assert settings is not None and [k.timestamp for k in settings.keyring.keys] == [2, 1]
    assert not any(k.startswith("encryption-key") for k in settings.template_config_items())


# -- install-utask.sh ---------------------------------------------------------------------------------


def test_install_script_is_posix_sh_and_shellcheck_clean() -> None:
    script = REPO / "install-utask.sh"
    assert script.read_text().startswith("#!/bin/sh\n")
    done = run(tool("shellcheck"), "--shell=sh", "--severity=style", str(script))
    assert done.returncode == 0, done.stdout + done.stderr
    assert run("sh", "-n", str(script)).returncode == 0


def test_docs_cover_the_sandbox_and_operations() -> None:
    text = (REPO / "docs" / "deployment.md").read_text()
    for topic in ("CAP_SYS_ADMIN", "user namespace", "seccomp", "landlock", "cgroup", "status=unavailable",
                  "required_layers", "maintenance", "/key-rotate", "utask migrate", "replicas"):
        assert topic.lower() in text.lower(), topic
