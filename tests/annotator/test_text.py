from __future__ import annotations

import pytest

from annotator.text import plain


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("sysu-synthetic · id 10", "sysu-synthetic · id 10"),
        ("x![t](http://host/p.png)", r"x\!\[t\]\(http\://host/p.png\)"),
        ("<img src=x onerror=alert(1)>", r"\<img src=x onerror=alert\(1\)\>"),
        ("annotator:Ada", r"annotator\:Ada"),
        (":red[big] $x$ **b** `c`", r"\:red\[big\] \$x\$ \*\*b\*\* \`c\`"),
        ("- item", r"\- item"),
        ("1. first", r"1\. first"),
    ],
)
def test_plain_escapes_markdown(raw: str, shown: str) -> None:
    assert plain(raw) == shown
