"""The facts a page reports are held to their fields' types where they enter Python."""

from __future__ import annotations

from auditor.facts import DeviceFacts, clean_strings, clean_text


def test_values_of_the_wrong_type_or_not_finite_are_unknown():
    facts = DeviceFacts.from_dict({
        "device": "desktop", "viewport_width": 1366, "viewport_height": 768, "title": 5,
        "load_ms": float("inf"), "lcp_ms": float("nan"), "cls": 0.1, "request_count": "1<i>many</i>",
        "transfer_bytes": 12.6, "has_viewport_meta": "yes", "nav_items": ["Home", None, 3],
        "ctas": [{"text": "Buy", "kind": "button", "above_fold": True, "x": 1, "y": 2, "width": 3, "height": 4,
                  "contrast_ratio": None}, {"text": 5}, 7],
        "forms": [{"field_count": 2, "required_count": 1, "fields": ["email", {}]}],
        "unknown": "dropped",
    })
    assert (facts.title, facts.load_ms, facts.lcp_ms, facts.cls) == ("", None, None, 0.1)
    assert (facts.request_count, facts.transfer_bytes, facts.has_viewport_meta) == (0, 13, False)
    assert facts.nav_items == ["Home"] and [c.text for c in facts.ctas] == ["Buy"]
    assert facts.forms[0].fields == ["email"]


def test_text_loses_lone_surrogates_nul_and_bidi_overrides():
    assert clean_text("Pricing \ud800 \u202egpj.exe\x00") == "Pricing \ufffd gpj.exe"
    assert clean_strings(["/a", 42, None, {"href": 1}, ["/b"]]) == ["/a"]
    assert clean_strings("not a list") == []
