from __future__ import annotations

import pytest

from annotator.auth import clean_annotator_name, password_ok, required_password
from annotator.deeplink import BadLinkError, DeepLink, parse_link


def test_password_configuration_and_check() -> None:
    assert required_password({}) is None
    assert required_password({"lab_password": ""}) is None
    assert required_password({"lab_password": "s3cret"}) == "s3cret"
    assert password_ok("s3cret", "s3cret")
    assert not password_ok("s3cret", "s3cre")
    assert not password_ok("s3cret", "")


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
