"""The production shape stays honest: pinned images, every setting written down, a README
that stands on its own."""

from __future__ import annotations

import re

import yaml

from .conftest import ROOT

SETTINGS_SOURCES = [ROOT / "infoshare_workflow" / "settings" / "config.py", ROOT / "infoshare_workflow" / "worker.py"]


def settings_read() -> set[str]:
    names: set[str] = set()
    for path in SETTINGS_SOURCES:
        names |= set(re.findall(r'"(INFOSHARE_[A-Z_]+)"', path.read_text()))
    names |= {f"INFOSHARE_RATE_LIMIT_{door}" for door in ("WEBHOOK", "PAGES", "API", "FAILURES")}
    return names


def test_every_image_is_pinned_to_an_exact_version():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    images = [service["image"] for service in compose["services"].values() if "image" in service]
    images += re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert len(images) >= 5
    for image in images:
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert re.fullmatch(r"v?\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?", tag), image


def test_every_setting_is_in_the_env_example_and_the_readme():
    names = settings_read()
    assert {"INFOSHARE_DATABASE_URL", "INFOSHARE_SCHOOL_NAME", "INFOSHARE_WORKER_METRICS_PORT"} <= names
    example, readme = (ROOT / ".env.example").read_text(), (ROOT / "README.md").read_text()
    assert sorted(n for n in names if n not in example) == []
    assert sorted(n for n in names if f"`{n}`" not in readme) == []


def test_every_app_service_gets_the_required_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("migrate", "web", "worker", "beat"):
        env = compose["services"][name]["environment"]
        for required in ("INFOSHARE_DATABASE_URL", "INFOSHARE_BROKER_URL", "INFOSHARE_MIS_WEBHOOK_SECRET",
                         "INFOSHARE_SECRET_KEY", "INFOSHARE_ENCRYPTION_KEYS", "INFOSHARE_SCHOOL_NAME"):
            assert required in env, (name, required)
    assert compose["services"]["worker"]["environment"]["INFOSHARE_WORKER_METRICS_PORT"] == "9808"


def test_the_readme_stands_on_its_own():
    readme = (ROOT / "README.md").read_text()
    assert "../" not in readme and "shared/spec" not in readme
    for path in re.findall(r"\]\((?!https?://|#)([^)]+)\)", readme):
        assert (ROOT / path).exists(), path
