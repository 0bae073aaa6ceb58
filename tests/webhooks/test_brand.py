"""The school's own look on every page: its name, colour and logo in the header, never GOV.UK's
crown; the colour arrives as a stylesheet so the content security policy stays strict."""

from __future__ import annotations

from dataclasses import replace

from infoshare_workflow.service.app import create_app

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def branded(settings, tmp_path):
    logo = tmp_path / "crest.png"
    logo.write_bytes(PNG)
    return create_app(replace(settings, school_colour="#4c2c92", school_logo=str(logo),
                              school_contact="Safeguarding team: 01234 567890")).test_client()


def test_the_header_shows_the_schools_name_logo_and_colour(settings, runtime, tmp_path):
    client = branded(settings, tmp_path)
    html = client.get("/tasks/not-a-token").get_data(as_text=True)
    assert settings.school_name in html and 'src="/brand/logo"' in html and "/brand.css" in html
    assert "01234 567890" in html  # whom to call, on the page that says the link is not recognised
    assert "govuk-header__logo" not in html and "crown" not in html.lower()
    css = client.get("/brand.css")
    assert css.mimetype == "text/css" and "--app-brand-colour: #4c2c92" in css.get_data(as_text=True)
    logo = client.get("/brand/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png" and logo.data == PNG
    assert client.get("/favicon.ico").data == PNG


def test_without_branding_there_is_no_logo_and_no_colour_sheet(client):
    html = client.get("/tasks/not-a-token").get_data(as_text=True)
    assert "/brand/logo" not in html and "/brand.css" not in html
    assert client.get("/brand/logo").status_code == 404 and client.get("/favicon.ico").status_code == 204


def test_scripts_and_styles_come_from_the_app_alone(client):
    response = client.get("/tasks/not-a-token")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "<style" not in html and " style=" not in html  # nothing inline
    for script in ("app.js", "govuk-frontend.min.js", "js-enabled.js"):
        assert client.get(f"/static/{script}").status_code == 200
