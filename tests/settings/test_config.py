"""Settings: embedded defaults need nothing; production stops on one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from infoshare_workflow.settings.config import ConfigError, load_settings, school_names, served_at

PROD = {
    "INFOSHARE_DATABASE_URL": "postgresql://root@127.0.0.1/test",
    "INFOSHARE_MIS_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "INFOSHARE_SECRET_KEY": "not-a-real-secret",
    "INFOSHARE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "INFOSHARE_SCHOOL_NAME": "Northfield Primary School",
}


def test_the_embedded_defaults_generate_and_keep_secrets_beside_the_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = load_settings({})
    second = load_settings({})
    assert first.embedded and first.broker_url == "memory://"
    assert first.secret_key == second.secret_key and first.encryption_keys == second.encryption_keys
    secrets_file = tmp_path / "infoshare.db.secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("missing", ["INFOSHARE_SCHOOL_NAME", "INFOSHARE_MIS_WEBHOOK_SECRET", "INFOSHARE_SECRET_KEY",
                                     "INFOSHARE_ENCRYPTION_KEYS"])
def test_production_without_a_required_setting_names_it(missing):
    env = {k: v for k, v in PROD.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


@pytest.mark.parametrize(("name", "value"), [
    ("INFOSHARE_MIS_WEBHOOK_SECRET", "not-prefixed"),
    ("INFOSHARE_MIS_WEBHOOK_SECRET", "whsec_c2hvcnQ="),
    ("INFOSHARE_ENCRYPTION_KEYS", "not-a-fernet-key"),
    ("INFOSHARE_DISPATCH_INTERVAL", "soon"),
    ("INFOSHARE_TIMEZONE", "Mars/Olympus"),
])
def test_malformed_settings_are_refused_by_name(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({**PROD, name: value})


def test_several_encryption_keys_are_read_newest_first():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = load_settings({**PROD, "INFOSHARE_ENCRYPTION_KEYS": f"{new}, {old}"})
    assert settings.encryption_keys == (new, old)


def test_the_worker_stops_with_one_line_naming_the_missing_setting():
    env = {k: v for k, v in PROD.items() if k != "INFOSHARE_SECRET_KEY"}
    result = subprocess.run([sys.executable, "-c", "import infoshare_workflow.worker"], env={"PATH": "/usr/bin", **env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "infoshare: INFOSHARE_SECRET_KEY is required when INFOSHARE_DATABASE_URL is not the embedded default"]


def test_the_embedded_defaults_need_no_school_name_and_say_your_school(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.school_name is None
    assert school_names(settings) == {"school_name": None, "school": "your school"}


@pytest.mark.parametrize(("host", "expected"), [("127.0.0.1", "http://localhost:5077"),
                                                ("0.0.0.0", "http://localhost:5077"),
                                                ("10.0.0.5", "http://10.0.0.5:5077")])
def test_links_name_the_port_served_unless_the_base_url_is_set(host, expected):
    assert served_at(load_settings(PROD), host, 5077).base_url == expected
    given = load_settings({**PROD, "INFOSHARE_BASE_URL": "https://safeguarding.school.example"})
    assert served_at(given, host, 5077).base_url == "https://safeguarding.school.example"


@pytest.mark.parametrize(("colour", "accepted"), [("#1d70b8", True), ("#0B0C0C", True), ("#ffdd00", False),
                                                  ("#87ceeb", False), ("blue", False), ("#123", False)])
def test_a_header_colour_must_be_dark_enough_for_white_text(colour, accepted):
    if accepted:
        assert load_settings({**PROD, "INFOSHARE_SCHOOL_COLOUR": colour}).school_colour == colour.lower()
    else:
        with pytest.raises(ConfigError, match="INFOSHARE_SCHOOL_COLOUR"):
            load_settings({**PROD, "INFOSHARE_SCHOOL_COLOUR": colour})


def test_a_logo_must_be_an_image_file_that_exists(tmp_path):
    logo = tmp_path / "crest.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert load_settings({**PROD, "INFOSHARE_SCHOOL_LOGO": str(logo)}).school_logo == str(logo)
    for wrong in (tmp_path / "missing.png", tmp_path):
        with pytest.raises(ConfigError, match="INFOSHARE_SCHOOL_LOGO"):
            load_settings({**PROD, "INFOSHARE_SCHOOL_LOGO": str(wrong)})


def test_the_schools_template_folder_must_be_a_folder_that_exists(tmp_path):
    folder = tmp_path / "school-templates"
    folder.mkdir()
    assert load_settings({**PROD, "INFOSHARE_TEMPLATE_DIR": str(folder)}).template_dir == str(folder.resolve())
    assert load_settings(PROD).template_dir is None
    (tmp_path / "a-file.html").write_text("")
    for wrong in (tmp_path / "missing", tmp_path / "a-file.html"):
        with pytest.raises(ConfigError, match="INFOSHARE_TEMPLATE_DIR") as refused:
            load_settings({**PROD, "INFOSHARE_TEMPLATE_DIR": str(wrong)})
        assert str(wrong) in str(refused.value) and "\n" not in str(refused.value)
