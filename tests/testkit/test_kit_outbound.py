"""Self-tests of the outbound rules of issue 15: each seeded defect of
:mod:`kit_defects_outbound` fails its rule with a message that says what to fix, and the
correct sample passes them."""

from __future__ import annotations

import pytest
from kit_runner import HEADER, failed_rules, rule, run

from omnisdk.testkit.channel.round_trip import mapping_entries, same, secret_forms

pytest_plugins = ["pytester"]

OUTBOUND = HEADER + "import kit_defects_outbound as d\n"
SELECT = "round_trip or credentials"
CAPTION = '    outbound_mapping = {**Base.outbound_mapping, "media.caption": ("caption",)}\n'
RICH = "    outbound_mapping = d.RICH_MAPPING\n"
DEFECTS = {
    # suite class: (adapter, extra declaration, the rules it must fail, a phrase of the message)
    "TestDropsCaption": ("d.DropsCaption", CAPTION, {"outbound.round_trip"},
                         ("outbound.round_trip", "media send: media.caption 'testkit' is not at caption "
                          "(nothing there)")),
    "TestTextInWrongField": ("d.TextInWrongField", "", {"outbound.round_trip"},
                             ("outbound.round_trip", "text send: text 'Hello from the omnisdk test kit' "
                              "is not at text (nothing there); the request has it at message")),
    "TestDropsReplyTo": ("d.DropsReplyTo", RICH, {"outbound.round_trip"},
                         ("outbound.round_trip", "reply send: reply_to 'kit-replied-message-0001' is not at "
                          "reply_to (nothing there)")),
    "TestFirstButtonOnly": ("d.FirstButtonOnly", RICH, {"outbound.round_trip"},
                            ("outbound.round_trip", "reply buttons send: buttons.id 'kit-button-no' is not at "
                             "buttons[*].id (found 'kit-button-yes')")),
    "TestDropsFilename": ("d.DropsFilename", RICH, {"outbound.round_trip"},
                          ("outbound.round_trip", "document with a file name send: media.filename "
                           "'testkit.pdf' is not at filenames[*] (nothing there)")),
    "TestTokenInBody": ("d.TokenInBody", "", {"outbound.credentials"},
                        ("outbound.credentials", "(POST /messages): the body carries the value of the secret "
                         "setting token (as is)")),
    "TestTokenInOtherHeader": ("d.TokenInOtherHeader", "", {"outbound.credentials"},
                               ("outbound.credentials", "(POST /messages): header x-api-key carries the value of "
                                "the secret setting token (as is)")),
    "TestTokenInQuery": ("d.TokenInQuery", "", {"outbound.credentials"},
                         ("outbound.credentials", "(POST /messages): the URL carries the value of the secret "
                          "setting token (as is)")),
}


def test_each_outbound_defect_fails_its_rule_and_the_sample_passes(pytester):
    body = "\nclass TestGood(Base):\n    adapter = kit_sample.GoodAdapter\n"
    body += f"\nclass TestCaptions(Base):\n    adapter = d.CaptionSender\n{CAPTION}"
    body += f"\nclass TestRich(Base):\n    adapter = d.RichSender\n{RICH}"
    for cls, (adapter, extra, _, _) in DEFECTS.items():
        body += f"\nclass {cls}(Base):\n    adapter = {adapter}\n{extra}"
    result, suites = run(pytester, body, "-k", SELECT, header=OUTBOUND)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for good in ("TestGood", "TestCaptions", "TestRich"):
        passed = {r["id"] for r in suites[good]["rules"] if r["status"] == "passed"}
        assert {"outbound.round_trip", "outbound.credentials"} <= passed, good
        assert failed_rules(suites[good]) == set(), good
    for cls, (_, _, expected, (rule_id, phrase)) in DEFECTS.items():
        suite = suites[cls]
        assert failed_rules(suite) == expected, cls
        message = rule(suite, rule_id)["reason"]
        assert message.startswith(f"[{rule_id}]") and phrase in message, (cls, message)


def test_the_token_in_the_query_is_also_missing_from_the_declared_header(pytester):
    result, suites = run(pytester, "\nclass TestTokenInQuery(Base):\n    adapter = d.TokenInQuery\n",
                         "-k", SELECT, header=OUTBOUND)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    reason = rule(suites["TestTokenInQuery"], "outbound.credentials")["reason"]
    assert "has no authorization header: send the credentials in it" in reason


def test_undeclared_mapping_and_header_fail_with_what_to_declare(pytester):
    result, suites = run(pytester, """
class TestUndeclared(Base):
    adapter = kit_sample.GoodAdapter
    outbound_mapping = None
    credential_header = None

class TestCaptionUndeclared(Base):
    adapter = d.CaptionSender
    outbound_mapping = {"to": ("to",), "text": ("text",), "media.url": [("media", 0), ("media_url",)]}

class TestNoSends(Base):
    adapter = kit_sample.GoodAdapter
    capabilities = {"inbound", "statuses"}
    outbound_mapping = None

class TestRichUndeclared(Base):  # outbound_content lists buttons; the mapping says nothing of them
    adapter = d.RichSender
    outbound_mapping = {k: v for k, v in d.RICH_MAPPING.items() if not k.startswith("buttons.")}
""", "-k", SELECT, header=OUTBOUND)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    undeclared = suites["TestUndeclared"]
    assert "no outbound_mapping: declare outbound_mapping = {" in rule(undeclared, "outbound.round_trip")["reason"]
    assert "no credential_header: declare credential_header = '<header>'" in \
        rule(undeclared, "outbound.credentials")["reason"]
    caption = rule(suites["TestCaptionUndeclared"], "outbound.round_trip")["reason"]
    assert ("media send: the message carries media.caption 'testkit': declare where media.caption goes "
            "in outbound_mapping; the request has it at caption") in caption
    for rule_id in ("outbound.round_trip", "outbound.credentials"):
        assert rule(suites["TestNoSends"], rule_id)["status"] == "not_applicable"
    rich = rule(suites["TestRichUndeclared"], "outbound.round_trip")["reason"]
    assert ("reply buttons send: buttons.id (OutboundMessage.buttons[*].id) can be sent (its capability or "
            "outbound_content is declared): declare where it goes in outbound_mapping") in rich


def test_a_malformed_mapping_is_a_declaration_problem(pytester):
    result, _ = run(pytester, """
class TestTypo(Base):
    adapter = kit_sample.GoodAdapter
    outbound_mapping = {"body": ("text",), "text": None, "to": 3}
    credential_header = "Authorization: Bearer"
""", "-k", "declaration", header=OUTBOUND)
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines([
        "*outbound_mapping names 'body', which is not one of*",
        "*outbound_mapping?'text'? is None, but text is always sent*",
        "*outbound_mapping?'to'? = 3 is not a path*",
        "*credential_header must be one header name*",
    ])


def test_mapping_format_and_comparisons():
    entries, problems = mapping_entries({"to": "To", "text": ("text", "body"),
                                         "media.url": ["MediaUrl", ("image", "link")], "media.caption": None})
    assert problems == []
    assert entries == {"to": [("To",)], "text": [("text", "body")],
                       "media.url": [("MediaUrl",), ("image", "link")], "media.caption": None}
    assert same("to", "+15550100002", "15550100002") and same("to", "+15550100002", "whatsapp:+15550100002")
    assert not same("to", "+15550100002", "+15550100003")
    assert not same("text", "hello", "hello ") and same("text", "42", 42)
    assert same("location.latitude", 52.3731, "52.3731") and not same("location.latitude", 52.3731, 52.37)
    assert same("preview_url", True, True) and same("preview_url", True, "true") and not same("preview_url", True, 1)
    assert same("contacts.phone", "+15550100009", "15550100009")
    assert same("template.components", [{"type": "body"}], [{"type": "body"}])
    assert not same("template.components", [{"type": "body"}], [])
    forms = secret_forms("a b/c+d")
    assert forms["URL-encoded"] == "a%20b%2Fc%2Bd" and forms["form-encoded"] == "a+b%2Fc%2Bd"
    assert forms["base64-encoded"] == "YSBiL2MrZA=="
