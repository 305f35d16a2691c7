"""`install-utask.sh` run into a temporary folder: what it lays out, idempotence, refusal without --force,
and the derived Dockerfile / compose file / Makefile it writes pass their own linters."""

from __future__ import annotations

from pathlib import Path

import yaml

from .conftest import REPO, install, run, tool
from .test_static import stages, validate_compose, values

EXPECTED = {
    ".dockerignore", ".gitignore", "Dockerfile", "Makefile", "README.md", "docker-compose.yaml", "functions/.gitkeep",
    "plugins/README.md", "scripts/.gitkeep", "templates/hello-world.yaml",
}


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_lays_out_a_deployers_repository(tmp_path: Path) -> None:
    target = tmp_path / "deploy"
    done = install(target)
    assert done.returncode == 0, done.stderr
    assert set(files(target)) == EXPECTED
    assert all(f"created    {name}" in done.stdout for name in EXPECTED)
    # The example is the repository's own, which the end-to-end tests run.
    assert (target / "templates" / "hello-world.yaml").read_bytes() == (REPO / "templates" / "hello-world.yaml").read_bytes()
    assert "utask plugin new" in (target / "plugins" / "README.md").read_text()
    assert "utask-python:0.1.0" in (target / "Dockerfile").read_text()


def test_running_it_again_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "deploy"
    assert install(target).returncode == 0
    before = files(target)
    again = install(target)
    assert again.returncode == 0, again.stderr
    assert files(target) == before
    assert again.stdout.count("unchanged") == len(EXPECTED) and "created" not in again.stdout
    # A deployer's own files beside them are none of its business.
    (target / "templates" / "mine.yaml").write_text("name: mine\n")
    assert install(target).returncode == 0 and (target / "templates" / "mine.yaml").exists()


def test_refuses_to_overwrite_without_force_and_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "deploy"
    assert install(target).returncode == 0
    (target / "README.md").write_text("our own README\n")
    (target / "Makefile").unlink()
    refused = install(target)
    assert refused.returncode == 1
    assert "README.md" in refused.stderr and "--force" in refused.stderr
    assert (target / "README.md").read_text() == "our own README\n"
    assert not (target / "Makefile").exists()  # all or nothing: not even the missing file came back

    # Another base image makes the Dockerfile differ too.
    other = install(target, "--image", "registry.example.com/utask-python:0.2.0")
    assert other.returncode == 1 and "Dockerfile" in other.stderr

    forced = install(target, "--force", "--image", "registry.example.com/utask-python:0.2.0")
    assert forced.returncode == 0, forced.stderr
    assert "replaced   README.md" in forced.stdout and "created    Makefile" in forced.stdout
    assert "ARG UTASK_IMAGE=registry.example.com/utask-python:0.2.0" in (target / "Dockerfile").read_text()
    assert "our own README" not in (target / "README.md").read_text()


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    assert install(tmp_path / "a", "--image", "bad image|name").returncode == 1
    assert install(tmp_path / "b", "--bogus").returncode == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    helped = run("sh", str(REPO / "install-utask.sh"), "--help")
    assert helped.returncode == 0 and "--force" in helped.stdout


def test_derived_dockerfile_compose_and_makefile(tmp_path: Path) -> None:
    target = tmp_path / "deploy"
    assert install(target).returncode == 0
    dockerfile = target / "Dockerfile"
    linted = run(tool("hadolint"), "--no-color", str(dockerfile))
    assert linted.returncode == 0, linted.stdout + linted.stderr

    image, check, final = stages(dockerfile)
    assert values(image, "FROM") == ["${UTASK_IMAGE} AS image"]
    install_run = " ".join(values(image, "RUN"))
    assert "/tmp/plugins/*/" in install_run and "pyproject.toml" in install_run and "pip install" in install_run
    copies = values(image, "COPY")
    assert {"templates/ /app/templates/", "functions/ /app/functions/", "scripts/ /app/scripts/"} <= set(copies)
    assert "utask templates check /app/templates" in install_run
    assert values(image, "USER")[-1] == "10001:10001"  # the base image's server user, back after root steps
    assert "pytest" in " ".join(values(check, "RUN"))
    assert values(final, "FROM") == ["image"]

    validate_compose(target / "docker-compose.yaml")
    utask = yaml.safe_load((target / "docker-compose.yaml").read_text())["services"]["utask"]
    assert utask["build"]["context"] == "." and utask["ports"] == ["8081:8081"]

    for target_name, expected in (("build", "docker build"), ("up", "docker compose up"),
                                  ("check", "--target check"), ("check-local", "utask templates check templates")):
        dry = run("make", "-n", "-C", str(target), target_name)
        assert dry.returncode == 0 and expected in dry.stdout, (target_name, dry.stdout, dry.stderr)
    assert "plugin new greet" in run("make", "-n", "-C", str(target), "plugin", "NAME=greet").stdout
    assert run("make", "-C", str(target), "plugin").returncode != 0  # NAME is required
    assert ".venv/" in (target / ".gitignore").read_text()
