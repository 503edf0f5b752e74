"""Self-tests of the inbound rules of issue 15: each seeded defect of :mod:`kit_defects_inbound`
fails its rule, with no expected-events files to help (rules stand on their own), and the
correct sample passes them all."""

from __future__ import annotations

import json

import kit_defects_signatures as d2
import kit_sample
import pytest
from kit_runner import HEADER, failed_rules, rule, run

from omnisdk.testkit.checks.schemes import PUBLISHED, SCHEMES, Scheme, Signed, self_check

pytest_plugins = ["pytester"]

ALONE = HEADER + """    expected_dir = "/nonexistent/expected"  # the rules may not lean on expected files
import kit_defects_inbound as d
"""
SELECT = ("provider_vectors or published_scheme or open_no_file or reads_no_clock or same_whole_events "
          "or different_event_ids or undocumented or batches")
DEFECTS = {
    # suite class: (adapter, the rules it must fail, a phrase of the failure message)
    "TestSignsUrlAndBody": ("d.SignsUrlAndBody", {"signature.provider_vectors"},
                            ("signature.provider_vectors", "kit_provider_message (made up for the kit's "
                             "self-tests")),
    "TestReadsStatusTable": ("d.ReadsStatusTable", {"parse.pure"},
                             ("parse.pure", "parse() called open(")),
    "TestResolvesHost": ("d.ResolvesHost", {"parse.pure"},
                         ("parse.pure", "verify() called socket.getaddrinfo(")),
    "TestShellsOut": ("d.ShellsOut", {"parse.pure"},
                      ("parse.pure", "parse() called subprocess.Popen(")),
    "TestChecksMessageAge": ("d.ChecksMessageAge", {"parse.pure"},
                             ("parse.pure", "parse() read the wall clock (time.time, datetime.now …) at "
                              "testkit/kit_defects_inbound.py:")),
    "TestClockTimes": ("d.ClockTimes", {"parse.pure"},
                       ("parse.pure", "message: parse() read the wall clock (time.time, datetime.now …) at "
                        "testkit/kit_defects_inbound.py:")),
    "TestNonceInData": ("d.NonceInData", {"dedupe.whole_event", "parse.batches"},
                        ("dedupe.whole_event", "parsed again by the same adapter: event 0")),
    "TestStatusIdWithoutWord": ("d.StatusIdWithoutWord", {"events.unique_ids"},
                                ("events.unique_ids", "give one status id 'out-1': the later status would "
                                 "be dropped")),
    "TestUnknownStatusDelivered": ("d.UnknownStatusDelivered", {"parse.unknown_values"},
                                   ("parse.unknown_values", "mapped to a known value: it gave "
                                    "io.omnisdk.message.status (status 'delivered'")),
    "TestUnknownStatusDropped": ("d.UnknownStatusDropped", {"parse.unknown_values"},
                                 ("parse.unknown_values", "dropped silently: 1 event(s) gone")),
    "TestOnlyFirstItem": ("d.OnlyFirstItem", {"parse.batches"},
                          ("parse.batches", "statuses: status_accepted + status_delivered: 1 of the 2 events "
                           "the items give one by one are missing")),
}


def test_each_inbound_defect_fails_its_rule_without_expected_files(pytester):
    body = "\nclass TestGood(Base):\n    adapter = kit_sample.GoodAdapter\n"
    for cls, (adapter, _, _) in DEFECTS.items():
        body += f"\nclass {cls}(Base):\n    adapter = {adapter}\n"
    result, suites = run(pytester, body, "-k", SELECT, header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    good = suites["TestGood"]
    ran = {r["id"] for r in good["rules"] if r["status"] == "passed"}
    assert {"signature.provider_vectors", "parse.pure", "dedupe.whole_event", "events.unique_ids",
            "parse.unknown_values", "parse.batches"} <= ran
    assert failed_rules(good) == set()
    for cls, (_, expected, (rule_id, phrase)) in DEFECTS.items():
        suite = suites[cls]
        assert failed_rules(suite) == expected, cls
        message = rule(suite, rule_id)["reason"]
        assert message.startswith(f"[{rule_id}]") and phrase in message, (cls, message)
    # the clock's second test, by comparison at two instants, catches ClockTimes on its own too
    result.stdout.fnmatch_lines(["*message: with the clock at 2031-03-04 then 2042-09-10, event 0 "
                                 "(io.omnisdk.message.received): time*"])


def test_a_scheme_mistake_made_in_both_sign_and_verify_fails_the_published_scheme(pytester):
    result, suites = run(pytester, """
class TestMeta(Base):
    adapter = d.MetaStyle
    signature_scheme = "meta_sha256"

class TestUpperHex(Base):
    adapter = d.MetaStyleUpperHex
    signature_scheme = "meta_sha256"

class TestNoScheme(Base):
    adapter = kit_sample.GoodAdapter
""", "-k", "published_scheme or declaration", header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert rule(suites["TestMeta"], "signature.published_scheme")["status"] == "passed"
    upper = rule(suites["TestUpperHex"], "signature.published_scheme")
    assert upper["status"] == "failed"
    assert "signed by the kit: verify() raised SignatureError" in upper["reason"]
    assert "sign() gives x-hub-signature-256" in upper["reason"]
    none = rule(suites["TestNoScheme"], "signature.published_scheme")
    assert (none["status"], none["reason"]) == (
        "not_applicable", "not applicable: no published scheme declared (signature_scheme)")


def test_an_unknown_scheme_name_is_a_declaration_problem(pytester):
    result, suites = run(pytester, """
class TestTypo(Base):
    adapter = d.MetaStyle
    signature_scheme = "meta"
""", "-k", "declaration", header=ALONE)
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*signature_scheme 'meta' is not one of*"])


@pytest.mark.parametrize("vectors, phrase", [
    (None, "no provider vectors: ship at least one request signed by the provider itself"),
    ([{"name": "v", "licence": "MIT", "headers": {}, "body": "{}"}], "bad provider vectors"),
    ([{"name": "v", "source": "the kit's sample, signed by its sign()", "licence": "MIT",
       "provenance": {"url": "https://docs.kit.invalid/webhooks"},
       "headers": {"X-Kit-Signature": "00" * 32}, "body": "{}"}],
     "verify() raised SignatureError"),
    ([{"name": "v", "source": "free text only", "licence": "MIT", "provenance": "the provider's docs",
       "headers": {"X-Kit-Signature": "00" * 32}, "body": "{}"}],
     "'provenance' must be {\"url\": \"https://…\"} or {\"repository\": \"owner/name\""),
    ([{"name": "v", "source": "an SDK test", "licence": "MIT",
       "provenance": {"repository": "kit/sdk", "path": "tests/test_sig.py", "commit": "main"},
       "headers": {"X-Kit-Signature": "00" * 32}, "body": "{}"}],
     "provenance.commit must be the commit's 40 lower-case hex digits"),
    ([{"name": "v", "source": "an SDK test", "licence": "MIT",
       "headers": {"X-Kit-Signature": "00" * 32}, "body": "{}"}],
     "'provenance' missing"),
])
def test_provider_vectors_must_exist_be_described_and_verify(pytester, vectors, phrase):
    folder = pytester.mkdir("vectors")
    if vectors is not None:
        (folder / "vectors.json").write_text(json.dumps(vectors))
    result, suites = run(pytester, f"""
class TestVectors(Base):
    adapter = kit_sample.GoodAdapter
    provider_vectors = {str(folder)!r}
""", "-k", "provider_vectors", header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    found = rule(suites["TestVectors"], "signature.provider_vectors")
    assert found["status"] == "failed" and phrase in found["reason"], found["reason"]


def test_redeliveries_must_be_declared_and_real(pytester):
    result, suites = run(pytester, """
class TestBadDeclaration(Base):
    adapter = kit_sample.GoodAdapter
    redeliveries = {"status_sent": "status_delivered", "nope": "message"}
""", "-k", "different_event_ids", header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    reason = rule(suites["TestBadDeclaration"], "events.unique_ids")["reason"]
    assert "redeliveries['nope'] = 'message': no recording named 'nope'" in reason
    assert "redeliveries['status_sent'] = 'status_delivered', but they share no event id" in reason


def test_the_kit_signers_reproduce_every_published_value_and_would_notice_a_wrong_one():
    assert self_check() == []
    assert {p.scheme for p in PUBLISHED} == set(SCHEMES)
    broken = dict(SCHEMES, line=Scheme("line", "wrong on purpose",
                                       lambda secret, msg: Signed(msg.url, {"x-line-signature": "AAAA"})))
    problems = self_check(broken)
    assert problems and all(p.startswith("line (") for p in problems)


BATCH = {"messages": [{"id": f"m-batch-{i}", "from": "+15550100002", "to": "+15550100001",
                       "text": f"part {i}", "ts": 1700000000 + i} for i in (1, 2)]}


def test_a_recorded_batch_requires_the_batches_capability(pytester):
    """A plugin whose own recordings hold several items in one body, or that declares a
    batch_path, must declare ``batches`` (else parse.batches never runs); the real LINE
    plugin's suite with the capability removed fails too."""
    recs = pytester.path / "batch"
    recs.mkdir()
    (recs / "two_messages.json").write_text(json.dumps(BATCH))
    result, suites = run(pytester, f"""
from omnisdk_line.certification import LineSuite


class TestDeclared(Base):
    adapter = kit_sample.GoodAdapter
    capabilities = Base.capabilities - {{"statuses"}}  # the folder holds no status
    recordings_dir = {str(recs)!r}

class TestUndeclared(Base):
    adapter = kit_sample.GoodAdapter
    capabilities = Base.capabilities - {{"batches", "statuses"}}
    batch_path = None
    recordings_dir = {str(recs)!r}

class TestPathWithoutCapability(Base):
    adapter = kit_sample.GoodAdapter
    capabilities = Base.capabilities - {{"batches"}}

class TestLineWithoutBatches(LineSuite):
    capabilities = LineSuite.capabilities - {{"batches"}}
    batch_path = None
""", "-k", "capabilities", header=ALONE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert rule(suites["TestDeclared"], "adapter.capabilities")["status"] == "passed"
    undeclared = rule(suites["TestUndeclared"], "adapter.capabilities")["reason"]
    assert ("recordings ['two_messages (2 x io.omnisdk.message.received)'] hold several provider items in "
            "one body: declare `batches` and batch_path") in undeclared
    path = rule(suites["TestPathWithoutCapability"], "adapter.capabilities")["reason"]
    assert "batch_path is declared but the batches capability is not" in path
    line = rule(suites["TestLineWithoutBatches"], "adapter.capabilities")["reason"]
    assert "webhook_batch (" in line and "hold several provider items in one body" in line


def test_a_vector_whose_body_parse_refuses_is_reported_as_testing_the_signature_only(pytester):
    import hashlib
    import hmac

    body = '{"messages": "not a list"}'  # another product's webhook: verify() accepts, parse() refuses
    vector = {"name": "other_product", "source": "made up for this test", "licence": "MIT",
              "provenance": {"url": "https://docs.kit.invalid/webhooks"},
              "settings": {"secret": "kit-vector-secret"},
              "headers": {"X-Kit-Signature": hmac.new(b"kit-vector-secret", body.encode(), hashlib.sha256).hexdigest()},
              "body": body}
    folder = pytester.mkdir("vectors")
    (folder / "vectors.json").write_text(json.dumps([vector]))
    result, suites = run(pytester, f"""
class TestVectors(Base):
    adapter = kit_sample.GoodAdapter
    provider_vectors = {str(folder)!r}
""", "-k", "provider_vectors", header=ALONE)
    found = rule(suites["TestVectors"], "signature.provider_vectors")
    assert found["status"] == "passed", found["reason"]
    assert found["notes"] == ["other_product: parse() refuses its body (PayloadError), so this vector tests "
                              "the signature only, not parsing"]


def test_a_vector_made_by_the_plugins_own_sign_is_refused(pytester):
    """A "vector" produced by running sign() under the kit (its timestamp is the kit's frozen
    clock) proves nothing; a vector the provider stamped at its own time is accepted."""
    import time_machine

    from omnisdk.testkit.channel.fixture import RECEIVED_AT

    body = '{"messages": [{"id": "in-v-1", "from": "+15550100003", "to": "+15550100001", "text": "hi", "ts": 1}]}'
    signer = d2.ClockStamped("acme", kit_sample.KitSettings(secret="kit-vector-secret", token="t0k3n-value"))
    with time_machine.travel(RECEIVED_AT, tick=False):
        by_sign = signer.sign("https://hooks.example.test/webhooks/kit/acme", body.encode(), "application/json")
    with time_machine.travel("2025-06-01T00:00:00Z", tick=False):
        by_provider = signer.sign("https://hooks.example.test/webhooks/kit/acme", body.encode(), "application/json")
    base = {"source": "made up for this test", "licence": "MIT", "body": body,
            "provenance": {"url": "https://docs.kit.invalid/webhooks"}, "settings": {"secret": "kit-vector-secret"},
            "received_at": "2025-06-01T00:00:10Z"}
    for name, headers in (("by_sign", by_sign), ("by_provider", by_provider)):
        folder = pytester.mkdir(name)
        (folder / "vectors.json").write_text(json.dumps([{"name": name, "headers": headers, **base}]))
    by_sign_dir, by_provider_dir = str(pytester.path / "by_sign"), str(pytester.path / "by_provider")
    result, suites = run(pytester, f"""
class TestBySign(Base):
    adapter = d2.ClockStamped
    provider_vectors = {by_sign_dir!r}

class TestByProvider(Base):
    adapter = d2.ClockStamped
    provider_vectors = {by_provider_dir!r}
""", "-k", "provider_vectors", header=ALONE + "import kit_defects_signatures as d2\n")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert rule(suites["TestByProvider"], "signature.provider_vectors")["status"] == "passed"
    refused = rule(suites["TestBySign"], "signature.provider_vectors")["reason"]
    assert "by_sign: its headers are exactly what this plugin's sign() gives at the kit's frozen clock" in refused
