"""Regulator exports: the manifest PDF (renders, QR decodes), the HJ 1259 ledger (XLSX opens
with openpyxl with the expected rows; CSV), the declaration, and the log export that a
one-byte change makes fail verification, naming the line."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import zxingcpp

import reports.verify_export as verifier
from app.domain.uscc import uscc_with_check
from tests.manifests.support import TODAY, draft, ok, setup_parties, step, stored_lot, to_received

ROOT = Path(__file__).resolve().parents[2]


def _closed_manifest(api):  # type: ignore[no-untyped-def]
    p = setup_parties(api)
    lots = [stored_lot(api) for _ in range(2)]
    m = draft(api, lots)
    m = to_received(api, p, m)
    done = [
        {"lot_id": x["lot_id"], "method_code": "D10", "completed_on": str(TODAY)} for x in m["lots"]
    ]
    m = step(api, "handler", m, "dispose", lots=done)
    return step(api, "ehs_manager", m, "close"), lots


def test_manifest_pdf_renders_and_its_qr_decodes(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    m, _ = _closed_manifest(api)
    r = api.as_("handler").get(f"/api/v1/manifests/{m['manifest_id']}.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    doc = pdfium.PdfDocument(r.content)
    page = doc[0]
    text = page.get_textpage().get_text_range()
    assert "危险废物转移联单" in text and m["number"] in text
    assert "第三部分" in text or "第三部分" in "".join(
        doc[i].get_textpage().get_text_range() for i in range(len(doc))
    )
    img = page.render(scale=300 / 72).to_pil().convert("L")
    found = {b.text for b in zxingcpp.read_barcodes(img)}
    assert m["number"] in found
    # the CJK font is embedded
    assert b"FontFile2" in r.content


def test_ledger_xlsx_has_the_expected_rows(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    m, _lots = _closed_manifest(api)
    stored_lot(api)  # generated and stored, not shipped
    day = datetime.now(UTC) + timedelta(hours=8)
    q = f"from={(day - timedelta(days=1)).date()}&to={(day + timedelta(days=1)).date()}"
    r = api.as_("auditor").get(f"/api/v1/exports/ledger.xlsx?{q}")
    assert r.status_code == 200, r.text
    wb = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    names = wb.sheetnames
    assert names[0].startswith("产生") and names[-1].startswith("委外")
    gen = list(wb[names[0]].iter_rows(values_only=True))
    assert gen[0][0] == "产生批次编码"
    assert len(gen) == 1 + 3
    assert all(row[0].startswith("HWCS") and len(row[0]) == 15 for row in gen[1:])
    assert {row[4] for row in gen[1:]} == {"900-039-49"}
    stin = list(wb[names[1]].iter_rows(values_only=True))
    assert len(stin) == 1 + 3 and stin[1][10] == "WH1" and stin[1][11] == "贮存库"
    assert {row[14] for row in stin[1:]} == {row[0] for row in gen[1:]}  # links to 产生批次
    out = list(wb[names[2]].iter_rows(values_only=True))
    assert len(out) == 1 + 2 and all(row[0].startswith("HWCK") for row in out[1:])
    off = list(wb[names[4]].iter_rows(values_only=True))
    assert len(off) == 1 + 2
    assert all(row[0].startswith("HWWWCZ") for row in off[1:])
    assert {row[16] for row in off[1:]} == {m["number"]}
    assert off[1][13] == "JSSZ0506OOD001-3" and off[1][10] == "D10"
    r = api.as_("auditor").get(f"/api/v1/exports/ledger.csv?{q}")
    assert r.status_code == 200
    text = r.content.decode("utf-8-sig")
    assert text.count("HWCS") >= 3 and "HWWWCZ" in text
    # portal users have no export permission
    assert api.as_("handler").get(f"/api/v1/exports/ledger.xlsx?{q}").status_code == 403


def test_declaration_for_the_site_class(api) -> None:  # type: ignore[no-untyped-def]
    _closed_manifest(api)
    year = (datetime.now(UTC) + timedelta(hours=8)).year
    r = api.as_("ehs_manager").get(
        f"/api/v1/exports/declaration?site_id={api.world.site_a}&period={year}"
    )
    d = ok(r)
    assert d["management_class"] == "registration" and d["required_cycle"] == "yearly"
    assert d["due_on"] == f"{year + 1}-03-31"
    line = d["lines"][0]
    assert line["waste_code"] == "900-039-49"
    assert line["generated_t"] == "0.251" and line["shipped_t"] == "0.251"
    assert line["closing_stock_t"] == "0.000"
    assert d["shipped"][0]["method"] == "D10"
    # a registration-class site does not declare monthly (R60)
    r = api.as_("ehs_manager").get(
        f"/api/v1/exports/declaration?site_id={api.world.site_a}&period={year}-01"
    )
    assert r.status_code == 422


def test_a_ledger_period_outside_the_calendar_is_refused_with_the_reason(api) -> None:  # type: ignore[no-untyped-def]
    """Found by `make fuzz`: 0001-01-01 or 9999-12-31 overflowed the China-time day bounds (a
    500); now a 422 naming the parameter, for both ledger formats."""
    ehs = api.as_("ehs_manager")
    for fmt in ("csv", "xlsx"):
        for params, field in (
            ({"from": "0001-01-01", "to": "0001-12-31"}, "from"),
            ({"from": "9999-01-01", "to": "9999-12-31"}, "from"),
            ({"from": "2026-01-01", "to": "9999-12-31"}, "to"),
        ):
            r = ehs.get(f"/api/v1/exports/ledger.{fmt}", params=params)
            assert r.status_code == 422, (fmt, params, r.text)
            assert r.json()["field"] == field and "1900-01-01 and 2999-12-31" in r.json()["detail"]
        r = ehs.get(
            f"/api/v1/exports/ledger.{fmt}", params={"from": "1900-01-01", "to": "1900-12-31"}
        )
        assert r.status_code == 200, r.text


def _export(api, tmp_path: Path, *, tail: int = 0) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """The site's export and its public key; `tail`: lots generated after the last checkpoint."""
    _closed_manifest(api)
    return _download(api, tmp_path, tail=tail)


def _download(api, tmp_path: Path, *, tail: int = 0) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A checkpoint, `tail` lots after it, then the site's export and its public key."""
    r = api.as_("admin").post("/api/v1/audit/checkpoints")
    assert r.status_code in (200, 201), r.text
    op = api.as_("operator")
    for _ in range(tail):
        op.generate(api.world.site_a)
    r = api.as_("auditor").get(f"/api/v1/exports/log.jsonl?site_id={api.world.site_a}")
    assert r.status_code == 200, r.text
    path = tmp_path / "log.jsonl"
    path.write_bytes(r.content)
    key = ok(api.as_("auditor").get(f"/api/v1/sites/{api.world.site_a}/public-key"))
    pem = tmp_path / "site.pem"
    pem.write_text(key["public_key_pem"], encoding="utf-8")
    return path, pem


def test_log_export_verifies_and_one_changed_byte_names_the_line(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, pem = _export(api, tmp_path)
    res = verifier.verify_file(str(path), pem.read_text())
    assert res.ok, res.summary()
    assert res.events > 10 and res.checkpoints >= 1
    lines = path.read_bytes().split(b"\n")
    # the header names the hashed fields as the offline verifier (stdlib only) mirrors them
    header = json.loads(lines[0])
    assert header["hash_fields"] == ["scheme", *verifier.FIELDS]
    # change one byte inside an event's payload: a digit of a lot's generated weight
    i = next(n for n, line in enumerate(lines) if b"lot.generated" in line and b"125.5" in line)
    assert i > 1
    target = lines[i]
    pos = target.index(b"125.5")
    tampered = target[:pos] + b"125.6" + target[pos + 5 :]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join([*lines[:i], tampered, *lines[i + 1 :]]))
    res = verifier.verify_file(str(bad), pem.read_text())
    assert not res.ok and res.line == i + 1, res.summary()
    assert "altered" in res.reason
    # the CLI says the same and exits 1
    cli = subprocess.run(
        [sys.executable, "-m", "app.cli", "verify-export", str(bad), "--key", str(pem)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert cli.returncode == 1 and f"line {i + 1}" in cli.stdout
    # the standalone script, run as a file, accepts the original
    ok_run = subprocess.run(
        [sys.executable, str(ROOT / "reports" / "verify_export.py"), str(path), "--key", str(pem)],
        capture_output=True,
        text=True,
    )
    assert ok_run.returncode == 0 and ok_run.stdout.startswith("ok"), ok_run.stdout
    # a removed line is caught too
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"\n".join([*lines[:3], *lines[4:]]))
    res = verifier.verify_file(str(cut), pem.read_text())
    assert not res.ok and res.line == 4


def _records(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write(path: Path, records: list[dict]) -> Path:  # type: ignore[type-arg]
    """The records as the server writes them, so a line left alone keeps its exact bytes."""
    text = "".join(
        json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        for r in records
    )
    path.write_text(text, "utf-8")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """The standalone verifier, run as a file."""
    script = str(ROOT / "reports" / "verify_export.py")
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True)


def test_the_export_is_sealed_so_its_tail_cannot_be_cut_or_rewritten(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Checkpoints sign the chain every N events; the export's end record signs the rest. Events
    after the last checkpoint are hash-chained only, so whoever holds the file could drop or
    rewrite them and fix up the hashes and the end record: the seal catches both."""
    path, pem = _export(api, tmp_path, tail=3)
    key = pem.read_text()
    good = verifier.verify_file(str(path), key)
    assert good.ok and good.sealed, good.summary()
    assert good.signed_through == good.head_position == good.events
    assert f"sealed with the site key at export through position {good.events}" in good.summary()
    records = _records(path)
    events = [r for r in records if r["record"] == "event"]
    checkpoints = [r for r in records if r["record"] == "checkpoint"]
    end = records[-1]
    assert end["record"] == "end" and end["jws"]
    assert checkpoints[-1]["chain_position"] == events[-4]["chain_position"]  # 3 lots after it

    # 1. cut short: the last event dropped, the end record's count and head made to agree
    cut = [r for r in records if r is not events[-1]]
    cut[-1] = {**end, "events": end["events"] - 1, "head_position": end["head_position"] - 1}
    cut[-1]["head_hash"] = events[-2]["hash"]
    res = verifier.verify_file(str(_write(tmp_path / "cut.jsonl", cut)), key)
    assert not res.ok and res.line == len(cut), res.summary()
    assert "seal does not match the file (events, head_hash, head_position)" in res.reason

    # 2. rewritten: the last event's payload changed, its hash recomputed, the end made to agree
    last = {**events[-1], "payload": events[-1]["payload"].replace("}", ', "x": 1}', 1)}
    last["hash"] = verifier.event_hash(last)
    forged = [last if r is events[-1] else r for r in records[:-1]]
    forged.append({**end, "head_hash": last["hash"]})
    res = verifier.verify_file(str(_write(tmp_path / "forged.jsonl", forged)), key)
    assert not res.ok and "seal does not match the file (head_hash)" in res.reason

    # 3. the seal removed, or the export time moved: in the end line, or in both lines
    bare = [*records[:-1], {k: v for k, v in end.items() if k != "jws"}]
    res = verifier.verify_file(str(_write(tmp_path / "bare.jsonl", bare)), key)
    assert not res.ok and "not sealed" in res.reason
    moved = [*records[:-1], {**end, "exported_at": "2020-01-01T00:00:00.000000Z"}]
    res = verifier.verify_file(str(_write(tmp_path / "moved.jsonl", moved)), key)
    assert not res.ok and res.line == len(moved) and "(exported_at)" in res.reason
    moved[0] = {**records[0], "exported_at": "2020-01-01T00:00:00.000000Z"}
    res = verifier.verify_file(str(_write(tmp_path / "moved.jsonl", moved)), key)
    assert not res.ok and res.line == 1 and "header differs" in res.reason, res.summary()

    # 4. an unsealed v1 export (the cut file, its seal dropped) fails unless accepted: then it
    # is checked, saying how much only the hash chain covers
    kept = [r for r in cut[1:-1] if r["record"] != "change"]  # v1 had no change lines
    v1 = [{**records[0], "format": "hazchain-log-export-v1"}, *kept]
    v1.append({k: v for k, v in cut[-1].items() if k != "jws"})
    _write(tmp_path / "v1.jsonl", v1)
    res = verifier.verify_file(str(tmp_path / "v1.jsonl"), key)
    assert not res.ok and res.line == 1 and "unsealed v1 export" in res.reason, res.summary()
    res = verifier.verify_file(str(tmp_path / "v1.jsonl"), key, accept_unsealed=True)
    assert res.ok and not res.sealed, res.summary()
    n = good.events - 1
    assert f"signed through position {n - 2} of {n}" in res.summary()
    assert res.notes == [
        "an unsealed hazchain-log-export-v1 export accepted (--accept-unsealed): no signature "
        "covers its header (site name, code, public key)",
        f"a hazchain-log-export-v1 export, whose end is not sealed: the 2 events after position "
        f"{n - 2} (the last signed checkpoint) are covered by the hash chain alone, so a file "
        "cut short or rewritten there would still verify",
    ]


def test_a_sealed_export_relabelled_v1_fails_unless_unsealed_is_accepted(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One byte of the header (v2 -> v1) used to switch the seal check off, and with it the
    protection of the tail; now an unsealed file fails unless the reader asks for it."""
    path, pem = _export(api, tmp_path, tail=3)
    assert path.read_bytes().count(b'"format":"hazchain-log-export-v3"') == 1
    records = _records(path)
    # the header relabelled (v1 had no change lines: they go too), the rest as written
    relabelled = _write(
        tmp_path / "relabelled.jsonl",
        [
            {**records[0], "format": "hazchain-log-export-v1"},
            *[r for r in records[1:] if r["record"] != "change"],
        ],
    )
    res = verifier.verify_file(str(relabelled), pem.read_text())
    assert not res.ok and res.line == 1, res.summary()
    assert "unsealed v1 export: nothing signs its tail or header" in res.reason
    assert "--accept-unsealed" in res.reason
    accepted = verifier.verify_file(str(relabelled), pem.read_text(), accept_unsealed=True)
    assert accepted.ok and not accepted.sealed, accepted.summary()
    assert accepted.signed_through == accepted.head_position - 3
    assert any("covered by the hash chain alone" in note for note in accepted.notes)
    # the standalone script and the CLI: exit 1 naming line 1; exit 0 with the notes when asked
    run = _run(str(relabelled), "--key", str(pem))
    assert run.returncode == 1 and run.stdout.startswith("FAILED at line 1: unsealed v1"), run
    run = _run(str(relabelled), "--key", str(pem), "--accept-unsealed")
    assert run.returncode == 0 and "note: an unsealed hazchain-log-export-v1" in run.stdout, run
    assert run.stdout.splitlines()[-1].startswith("ok: ")
    cli = [sys.executable, "-m", "app.cli", "verify-export", str(relabelled), "--key", str(pem)]
    run = subprocess.run(cli, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and "line 1" in run.stdout, run
    run = subprocess.run([*cli, "--accept-unsealed"], capture_output=True, text=True, cwd=ROOT)
    said = " ".join(run.stdout.split())  # the console wraps its lines
    assert run.returncode == 0 and "ok: " in said and "hash chain alone" in said, run


def test_the_seal_covers_the_header_and_the_keys_it_names(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The seal signs the header line's SHA-256; a key in the header must be the one the file is
    checked with; a checkpoint's key_id must be the kid its JWS was signed under."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.core.keys import public_jwk, public_pem

    path, pem = _export(api, tmp_path)
    key = pem.read_text()
    lines = path.read_bytes().split(b"\n")
    # 1. one byte of the site name (苏 -> 苎: still UTF-8) or one byte that is not UTF-8
    name = "苏州厂区".encode()
    assert lines[0].count(name) == 1
    for byte in (b"\x8e", b"\xff"):
        bad = tmp_path / "header.jsonl"
        bad.write_bytes(
            b"\n".join([lines[0].replace(name, name[:2] + byte + name[3:]), *lines[1:]])
        )
        res = verifier.verify_file(str(bad), key)
        assert not res.ok and res.line == 1, res.summary()
        assert "header differs from the one sealed at export" in res.reason
    run = _run(str(bad), "--key", str(pem))
    assert run.returncode == 1 and run.stdout.startswith("FAILED at line 1: the header"), run

    # 2. another key in the header than the one given (--key / --jwk), or than its own PEM
    records = _records(path)
    other = Ed25519PrivateKey.generate().public_key()
    swapped = [{**records[0], "public_key_pem": public_pem(other)}, *records[1:]]
    _write(tmp_path / "swapped.jsonl", swapped)
    res = verifier.verify_file(str(tmp_path / "swapped.jsonl"), key)
    assert not res.ok and res.line == 1, res.summary()
    assert res.reason.startswith("the header's public_key_pem is not the key given")
    jwk = ok(api.as_("auditor").get(f"/api/v1/sites/{api.world.site_a}/public-key"))["jwk"]
    res = verifier.verify_file(str(tmp_path / "swapped.jsonl"), jwk=jwk)
    assert not res.ok and res.line == 1 and "public_key_pem is not the key given" in res.reason
    res = verifier.verify_file(str(path), public_pem(other))
    assert not res.ok and res.line == 1 and "names another signer" in res.reason
    mixed = [{**records[0], "public_jwk": public_jwk(other)}, *records[1:]]
    res = verifier.verify_file(str(_write(tmp_path / "mixed.jsonl", mixed)))
    assert not res.ok and res.line == 1, res.summary()
    assert "public_jwk is not the header's public_key_pem" in res.reason

    # 3. a checkpoint's key_id edited outside its JWS
    i = next(n for n, r in enumerate(records) if r["record"] == "checkpoint")
    edited = [*records[:i], {**records[i], "key_id": "0" * 16}, *records[i + 1 :]]
    res = verifier.verify_file(str(_write(tmp_path / "kid.jsonl", edited)), key)
    assert not res.ok and res.line == i + 1, res.summary()
    assert "key_id '0000000000000000' is not the key id its signature names" in res.reason
    # the untouched records written back the same way still verify
    assert verifier.verify_file(str(_write(tmp_path / "same.jsonl", records)), key).ok


def test_verifier_uses_only_stdlib_and_pyjwt() -> None:
    tree = ast.parse((ROOT / "reports" / "verify_export.py").read_text(encoding="utf-8"))
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module.split(".")[0])
    assert mods - set(sys.stdlib_module_names) == {"jwt"}


def test_the_export_carries_the_master_data_changes_its_transfers_rest_on(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A v3 export holds the change trail of the handlers' and carriers' credentials and of the
    site's own contracts, approvals and plans: each row checked against its hash, the lines as
    a whole sealed. Another enterprise's contract and another site's plan stay out; a licence
    edited after the fact shows, and a line forged, dropped or rewritten does not verify."""
    w = api.world
    admin = api.as_("admin")
    _closed_manifest(api)  # parties, contracts, this site's plan, a transfer
    [licence] = ok(admin.get("/api/v1/parties/handler-licences"))
    later = str(TODAY + timedelta(days=900))
    ok(admin.patch(f"/api/v1/parties/handler-licences/{licence['id']}", {"valid_to": later}))
    other = ok(
        admin.post(
            "/api/v1/enterprises",
            {
                "name": "福州新厂",
                "uscc": uscc_with_check("91350100M000100Y4"),
                "kind": "plant",
                "division_code": "350100",
            },
        ),
        201,
    )
    body = {
        "consignor_enterprise_id": other["id"],
        "counterparty_enterprise_id": str(w.handler_org),
        "kind": "handler",
        "contract_no": "HT-OTHER-PLANT",
        "valid_from": str(TODAY),
        "valid_to": str(TODAY + timedelta(days=30)),
    }
    ok(admin.post("/api/v1/parties/contracts", body), 201)
    plan = {"site_id": str(w.site_b), "year": TODAY.year, "filing_no": "SITE-B-PLAN"}
    ok(admin.post("/api/v1/parties/plans", {**plan, "filed_on": str(TODAY), "items": []}), 201)
    path, pem = _download(api, tmp_path)
    key = pem.read_text()
    records = _records(path)
    changes = [r for r in records if r["record"] == "change"]
    text = path.read_text(encoding="utf-8")
    assert "HT-OTHER-PLANT" not in text and "SITE-B-PLAN" not in text
    assert {c["entity"] for c in changes} == {
        "handler_licence",
        "carrier_licence",
        "vehicle",
        "crew",
        "contract",
        "plan",
    }
    edits = [c for c in changes if c["entity_id"] == licence["id"]]
    assert [c["action"] for c in edits] == ["created", "updated"]
    assert edits[-1]["data"]["valid_to"] == later  # the edit after the fact, as recorded
    assert records[0]["change_hash_scheme"] == "hazchain-change-trail-v1"
    end = records[-1]
    assert end["changes"] == len(changes)
    good = verifier.verify_file(str(path), key)
    assert good.ok and good.changes == len(changes), good.summary()
    assert f"{len(changes)} master-data changes verified" in good.summary()
    run = _run(str(path), "--key", str(pem))  # the standalone script agrees
    assert run.returncode == 0 and "master-data changes verified" in run.stdout, run

    # 1. a licence's validity rewritten in the file: its row's hash names the line
    i = records.index(edits[0])
    forged = {**edits[0], "data": {**edits[0]["data"], "valid_to": "2099-12-31"}}
    res = verifier.verify_file(str(_write(tmp_path / "f1.jsonl", _swap(records, i, forged))), key)
    assert not res.ok and res.line == i + 1 and "master-data change" in res.reason, res.summary()
    # 2. and its hash recomputed (the trail's scheme is public): the sealed digest catches it
    forged["hash"] = verifier.change_hash(forged)
    res = verifier.verify_file(str(_write(tmp_path / "f2.jsonl", _swap(records, i, forged))), key)
    assert not res.ok and res.line == len(records), res.summary()
    assert "does not match the master-data change lines" in res.reason
    # 3. a change line dropped, the end's count and digest made to agree: the seal says no
    dropped = [r for r in records if r is not edits[-1]]
    rest = [r for r in dropped if r["record"] == "change"]
    digest = hashlib.sha256(
        "".join(
            json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
            for r in rest
        ).encode("utf-8")
    )
    dropped[-1] = {**end, "changes": len(rest), "changes_sha256": digest.hexdigest()}
    res = verifier.verify_file(str(_write(tmp_path / "f3.jsonl", dropped)), key)
    assert not res.ok and "seal does not match the file (changes, changes_sha256)" in res.reason
    # 4. relabelled as a v2 export (sealed, before change lines): the seal signs the header
    v2 = [{**records[0], "format": "hazchain-log-export-v2"}, *records[1:]]
    res = verifier.verify_file(str(_write(tmp_path / "f4.jsonl", v2)), key)
    assert not res.ok, res.summary()
    # 5. a genuine v2 export, as the site sealed them before change lines: still verifies
    header = {**records[0], "format": "hazchain-log-export-v2"}
    header.pop("change_hash_scheme")
    line = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sealed = {k: v for k, v in end.items() if k not in ("changes", "changes_sha256", "jws")}
    sealed["header_sha256"] = hashlib.sha256(line.encode("utf-8")).hexdigest()
    claims = {"iss": "hazchain", "sub": str(w.site_a), "typ": "log-export-seal"}
    claims |= {"format": header["format"], "site_id": str(w.site_a), **sealed}
    sealed["jws"] = api.ctx.keys.sign(w.site_a, claims)
    body = [r for r in records[1:-1] if r["record"] != "change"]
    res = verifier.verify_file(str(_write(tmp_path / "v2.jsonl", [header, *body, sealed])), key)
    assert res.ok and res.sealed and res.changes == 0, res.summary()


def _swap(records: list[dict], i: int, new: dict) -> list[dict]:  # type: ignore[type-arg]
    return [new if n == i else r for n, r in enumerate(records)]
