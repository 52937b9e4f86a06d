from __future__ import annotations

from pathlib import Path

import pytest

from annotator.auth import (
    PasswordConfigError,
    clean_annotator_name,
    exposure_problem,
    login_delay,
    password_ok,
    required_password,
)
from annotator.deeplink import BadLinkError, DeepLink, parse_link


def test_password_configuration_and_check() -> None:
    assert required_password({}) is None
    assert required_password({"lab_password": "s3cret"}) == "s3cret"
    assert password_ok("s3cret", "s3cret")
    assert not password_ok("s3cret", "s3cre")
    assert not password_ok("s3cret", "")


@pytest.mark.parametrize("value", ["", "   ", 1234, True])
def test_empty_or_odd_secret_password_fails_closed(value: object) -> None:
    with pytest.raises(PasswordConfigError, match="empty or not a string"):
        required_password({"lab_password": value})


def test_password_from_environment_and_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    env = {"PAENET_LAB_PASSWORD_FILE": str(secret)}
    assert required_password({}, env) == "from-file"
    assert required_password({"lab_password": "s"}, env) == "from-file"
    env["PAENET_LAB_PASSWORD"] = "from-env"
    assert required_password({"lab_password": "s"}, env) == "from-env"


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_missing_or_empty_password_file_fails_closed(tmp_path: Path, content: str | None) -> None:
    secret = tmp_path / "pw"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(PasswordConfigError) as err:
        required_password({}, {"PAENET_LAB_PASSWORD_FILE": str(secret)})
    assert str(secret) in str(err.value)  # the server log names the file …
    assert str(tmp_path) not in err.value.public  # … the page does not


def test_secrets_file_that_does_not_parse_fails_closed(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text('lab_password = "x"\n')
    bad.write_text('lab_password = "unterminated\n')
    files = [str(tmp_path / "absent.toml"), str(good)]
    assert required_password({}, {}, files) is None  # absent files are fine
    with pytest.raises(PasswordConfigError, match="cannot be read as TOML") as err:
        required_password({}, {}, [*files, str(bad)])
    assert str(bad) in str(err.value) and "unterminated" not in str(err.value)


def test_login_delay_grows_per_failure() -> None:
    assert [login_delay(n) for n in range(8)] == [0, 0, 0.5, 1, 2, 4, 8, 16]
    assert login_delay(9) == 30 and login_delay(1000) == 30


@pytest.mark.parametrize(
    "address, password, env, refused",
    [
        ("127.0.0.1", False, {}, False),
        ("localhost", False, {}, False),
        ("::1", False, {}, False),
        (None, False, {}, True),
        ("0.0.0.0", False, {}, True),
        ("192.168.1.20", False, {}, True),
        ("0.0.0.0", True, {}, False),
        ("0.0.0.0", False, {"PAENET_OPEN_WITHOUT_PASSWORD": "1"}, False),
        ("0.0.0.0", False, {"PAENET_OPEN_WITHOUT_PASSWORD": "yes"}, True),
    ],
)
def test_no_password_only_on_loopback_unless_explicit(
    address: str | None, password: bool, env: dict[str, str], refused: bool
) -> None:
    assert (exposure_problem(address, password, env) is not None) is refused


def test_annotator_names() -> None:
    assert clean_annotator_name("  Ada   Lovelace ") == "Ada Lovelace"
    for bad in ["", "   ", "<script>", "x" * 65]:
        with pytest.raises(ValueError, match="annotator name"):
            clean_annotator_name(bad)


def test_deep_links() -> None:
    assert parse_link({}, ["sysu"]) == DeepLink()
    assert parse_link({"dataset": "sysu", "pid": "17"}, ["sysu", "regdb"]) == DeepLink("sysu", 17)
    assert parse_link({"dataset": "regdb"}, ["sysu", "regdb"]) == DeepLink("regdb", None)
    cases = [
        ({"dataset": "market"}, "unknown dataset 'market'"),
        ({"dataset": "sysu", "pid": "-3"}, "positive integer"),
        ({"dataset": "sysu", "pid": "../../etc"}, "positive integer"),
        ({"dataset": "sysu", "pid": "9999999999"}, "positive integer"),
        ({"pid": "4"}, "must also name dataset"),
    ]
    for params, message in cases:
        with pytest.raises(BadLinkError, match=message):
            parse_link(params, ["sysu"])
