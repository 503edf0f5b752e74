"""Self-tests of the forgery rules of issue 15: each seeded defect of :mod:`kit_defects_signatures`
passes ``signature.forged`` (all secrets changed, one body byte) but fails the rule that changes
one thing at a time; the correct samples pass them all."""

from __future__ import annotations

import pytest
from kit_runner import HEADER, failed_rules, rule, run

pytest_plugins = ["pytester"]

ALONE = HEADER + """    expected_dir = "/nonexistent/expected"  # the rules may not lean on expected files
import kit_defects_inbound as i
import kit_defects_signatures as d
"""
SELECT = "forged or one_secret or one_change or no_oracle"
DEFECTS = {
    # suite class: (adapter, the rules it must fail, a phrase of the failure message)
    "TestVerifiesWithToken": ("d.VerifiesWithToken", {"signature.one_secret"},
                              ("signature.one_secret", "signed with only secret changed: verify() accepted "
                               "it; secret keys the signature")),
    "TestAcceptsEitherSecret": ("d.AcceptsEitherSecret", {"signature.one_secret"},
                                ("signature.one_secret", "signed with the token value as secret: verify() "
                                 "accepted it")),
    "TestSignsWithAccountId": ("d.SignsWithAccountId", {"signature.one_secret"},
                               ("signature.one_secret", "signed by an account whose account_id alone differs (a "
                                "setting, not a secret): verify() refused it")),
    "TestLowerCasesReceived": ("d.LowerCasesReceived", {"signature.one_change"},
                               ("signature.one_change", "x-kit-signature with its hex digest in upper case: "
                                "verify() accepted it")),
    "TestIgnoresAlgorithmPrefix": ("d.IgnoresAlgorithmPrefix", {"signature.one_change"},
                                   ("signature.one_change", "x-hub-signature-256 with its prefix 'sha256=' "
                                    "changed to 'sha1=': verify() accepted it")),
    "TestNormalisesJson": ("d.NormalisesJson", {"signature.one_change"},
                           ("signature.one_change", "re-serialised with spaces (same JSON): verify() "
                            "accepted it")),
    "TestDropsQueryOnVerify": ("d.DropsQueryOnVerify", {"signature.one_change"},
                               ("signature.one_change", "received at a URL with a query string: verify() "
                                "refused it")),
    "TestLenientBase64": ("d.LenientBase64", {"signature.one_change"},
                          ("signature.one_change", "x-kit-signature with its base64 padding removed: verify() "
                           "accepted it")),
    "TestTimestampNotSigned": ("d.TimestampNotSigned", {"signature.one_change"},
                               ("signature.one_change", "x-kit-timestamp with one character of x-kit-timestamp "
                                "changed: verify() accepted it")),
    "TestSignsUrlWithoutScheme": ("d.SignsUrlWithoutScheme", {"signature.one_change"},
                                  ("signature.one_change", "with the URL's scheme changed to http: verify() "
                                   "accepted it")),
    "TestSignsUrlWithoutPath": ("d.SignsUrlWithoutPath", {"signature.one_change"},
                                ("signature.one_change", "with the URL's path changed: verify() accepted it")),
    "TestExpectedInError": ("d.ExpectedInError", {"signature.no_oracle"},
                            ("signature.no_oracle", "the SignatureError's message holds 8+ characters of "
                             "the expected signature")),
    "TestExpectedPrefixInError": ("d.ExpectedPrefixInError", {"signature.no_oracle"},
                                  ("signature.no_oracle", "the SignatureError's message holds 8+ characters "
                                   "of the expected signature")),
    "TestSecretFragmentInError": ("d.SecretFragmentInError", {"signature.no_oracle"},
                                  ("signature.no_oracle", "the SignatureError's message holds a secret value "
                                   "or 8+ characters derived from one (the secret)")),
    "TestSecretHexInLog": ("d.SecretHexInLog", {"signature.no_oracle"},
                           ("signature.no_oracle", "the log holds a secret value or 8+ characters derived "
                            "from one (the secret in hex)")),
    "TestDigestInReason": ("d.DigestInReason", {"signature.no_oracle"},
                           ("signature.no_oracle", "the SignatureError's reason 'mismatch_")),
}


def test_each_forgery_defect_passes_forged_but_fails_its_one_change_rule(pytester):
    body = """
class TestGood(Base):
    adapter = kit_sample.GoodAdapter

class TestGoodMeta(Base):
    adapter = i.MetaStyle

class TestGoodUrlSigned(Base):  # signs URL and body, consistently: no one-change rule fails
    adapter = i.SignsUrlAndBody

class TestGoodBase64(Base):
    adapter = d.Base64Style

class TestGoodTimestamp(Base):
    adapter = d.TimestampSigned

class TestGoodAccountId(Base):  # a non-secret setting the signature does not use
    adapter = d.WithAccountId

class TestDeclaredAccountId(Base):  # the same defect, declared: the scheme uses the account id
    adapter = d.SignsWithAccountId
    verification_settings = ("account_id",)
"""
    for cls, (adapter, _, _) in DEFECTS.items():
        body += f"\nclass {cls}(Base):\n    adapter = {adapter}\n"
    result, suites = run(pytester, body, "-k", SELECT, header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for good in ("TestGood", "TestGoodMeta", "TestGoodUrlSigned", "TestGoodBase64", "TestGoodTimestamp",
                 "TestGoodAccountId", "TestDeclaredAccountId"):
        assert failed_rules(suites[good]) == set(), good
        passed = {r["id"] for r in suites[good]["rules"] if r["status"] == "passed"}
        assert {"signature.one_secret", "signature.one_change", "signature.no_oracle"} <= passed, good
    for cls, (_, expected, (rule_id, phrase)) in DEFECTS.items():
        suite = suites[cls]
        assert failed_rules(suite) == expected, cls
        assert rule(suite, "signature.forged")["status"] == "passed", cls
        message = rule(suite, rule_id)["reason"]
        assert message.startswith(f"[{rule_id}]") and phrase in message, (cls, message)


def test_signing_secrets_must_name_secret_settings(pytester):
    result, suites = run(pytester, """
class TestTypo(Base):
    adapter = kit_sample.GoodAdapter
    signing_secrets = ("webhook_secret",)
""", "-k", "one_secret", header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    found = rule(suites["TestTypo"], "signature.one_secret")
    assert "signing_secrets names ['webhook_secret'], which are not non-empty secret settings" in found["reason"]


def test_a_declared_verification_setting_must_change_the_verdict(pytester):
    result, suites = run(pytester, """
class TestDeclaredButUnused(Base):
    adapter = d.WithAccountId
    verification_settings = ("account_id",)

class TestUnknownSetting(Base):
    adapter = d.WithAccountId
    verification_settings = ("acount_id",)
""", "-k", "one_secret", header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    unused = rule(suites["TestDeclaredButUnused"], "signature.one_secret")["reason"]
    assert ("whose account_id alone differs: verify() accepted it; verification_settings says account_id "
            "takes part") in unused
    unknown = rule(suites["TestUnknownSetting"], "signature.one_secret")["reason"]
    assert "verification_settings names ['acount_id'], which are not settings of the account" in unknown


ESCAPES = {  # one message, written with spaces, a '/' and a non-ASCII character, two top-level keys
    "messages": [{"id": "m-esc-1", "from": "+15550100002", "to": "+15550100001",
                  "text": "Café? See https://example.test/a", "ts": 1700000000}],
    "statuses": [],
}


def test_a_verifier_of_the_parsed_json_accepts_escapes_and_key_order_and_fails(pytester):
    import json

    recs = pytester.path / "escapes"
    recs.mkdir()
    (recs / "message_escapes.json").write_text(json.dumps(ESCAPES, ensure_ascii=False), encoding="utf-8")
    result, suites = run(pytester, f"""
class TestGood(Base):
    adapter = kit_sample.GoodAdapter
    recordings_dir = {str(recs)!r}

class TestNormalisesJson(Base):
    adapter = d.NormalisesJson
    recordings_dir = {str(recs)!r}
""", "-k", "one_change", header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert rule(suites["TestGood"], "signature.one_change")["status"] == "passed"
    message = rule(suites["TestNormalisesJson"], "signature.one_change")["reason"]
    for phrase in ("its keys in another order (same JSON): verify() accepted it",
                   "non-ASCII characters \\u-escaped (same JSON): verify() accepted it",
                   "'/' escaped as '\\/' (same JSON): verify() accepted it"):
        assert f"message_escapes with {phrase}" in message, (phrase, message)
