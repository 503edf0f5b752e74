"""Make ``case_doc_v12.json``: one case document exactly as the release before typed case rows
(commit bb2464b, schema version 12) wrote it into the ``cases`` table, with every field that
release could set, and ``case_api_v12.json``: what that release's agent API answered for it
(``GET /v1/cases`` and ``POST /v1/interactions/{its first interaction}/case-link``).  Run it
with that release's source first on the path, from this checkout:

    git archive bb2464b src | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before/src:tests/plugins_for_tests .venv/bin/python \\
        tests/store/data/make_case_doc.py tests/store/data

It drives the real runtime (the test-only sample plugin, a SQLite store) through email to case:
ann's mail to ``cases@acme.test`` about "Printer X2" opens ``CS0000001`` (``context``,
``history``, ``transitions``, ``product``); her reply that the MTA marks ``dmarc=fail`` is kept
as a note (an update with ``counted: false``); alice moves the case to ``solution_proposed``;
ann's ``ACCEPT`` by mail resolves it (a counted update, a move by the customer); alice closes
it; the survey link is answered with 4 (``survey``).  The document is read back with raw SQL.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import api_access
import orjson
from pydantic import SecretStr
from sample_wire import ingest, make_settings

import omnisdk
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.gateway import create_app
from omnisdk.model.subjects import case_token
from omnisdk.runtime import Runtime

SOURCE = "/sample/acme"


def mail(mid: str, *, subject: str, text: str, to: str = "cases@acme.test", dmarc: str | None = None) -> Event:
    sender = "ann@example.test"
    return Event(
        id=mid, source=SOURCE, type=TYPE_MESSAGE_RECEIVED, time="2026-01-01T00:00:00Z",
        partitionkey=f"sample/acme:email:{to}:{sender}",
        data={"message_id": mid, "channel": "email", "customer": sender, "business": to, "kind": "text",
              "text": text, "email": {"message_id": mid, "subject": subject,
                                      "authentication": {"dmarc": dmarc} if dmarc else {}}},
    )


async def main(out: Path) -> None:
    """Write both files into the directory ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        base = make_settings(Path(tmp))
        settings = base.model_copy(update={
            "lifecycle": base.lifecycle.model_copy(update={
                "case_addresses": ["cases@acme.test"], "case_products": ["Printer X2"],
                "case_links_secret": SecretStr("case-links-secret-for-tests-0001")}),
            "gateway": base.gateway.model_copy(update={"public_url": "https://cx.example.test"})})
        rt = Runtime(settings)
        await rt.start()
        try:
            await ingest(rt, mail("open@example.test", subject="Printer X2 jams on page 2", text="It jams."))
            (case,) = await rt.cases()
            token = case_token(case["number"])
            await ingest(rt, mail("spoof@example.test", subject=f"Re: jams {token}", text="ACCEPT", dmarc="fail"))
            await rt.move_case(case["id"], "in_progress", agent="alice")
            await rt.move_case(case["id"], "solution_proposed", agent="alice", note="Clean the roller.")
            await ingest(rt, mail("accept@example.test", subject=f"Re: jams {token}", text="ACCEPT\n\nThanks"))
            await rt.move_case(case["id"], "closed", agent="alice")
            links = rt.case_links()
            assert links is not None
            survey = links.url(case["id"], "survey", now=time.time())
            await rt.answer_case_link(survey.rsplit("/", 1)[1], 4)
            (doc,) = await rt.store.transact(lambda tx: tx.c.execute("SELECT doc FROM cases").fetchone())
            async with api_access.client(create_app(rt), await api_access.api_key(rt)) as client:
                listed = (await client.get("/v1/cases")).raise_for_status().json()
                first = orjson.loads(doc)["interaction_ids"][0]
                linked = (await client.post(f"/v1/interactions/{first}/case-link",
                                            json={"case": case["number"]})).raise_for_status().json()
        finally:
            await rt.stop()
    (out / "case_doc_v12.json").write_text(doc + "\n")
    (out / "case_api_v12.json").write_bytes(orjson.dumps({"list": listed, "link": linked}, option=orjson.OPT_INDENT_2))
    print(f"wrote {out}/case_*_v12.json with omnisdk from {Path(omnisdk.__file__).parent}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
