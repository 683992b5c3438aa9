#!/usr/bin/env python3
"""Verify a hazchain log export (JSON Lines) offline. Standard library + pyjwt only.

    python verify_export.py EXPORT.jsonl --key site-public-key.pem
    python verify_export.py EXPORT.jsonl --jwk site-key.json
    python verify_export.py OLD-V1-EXPORT.jsonl --key site-public-key.pem --accept-unsealed

Get the site's public key from the operator independently of the file
(`GET /api/v1/sites/{site_id}/public-key` gives PEM and JWK). Without --key/--jwk the key
embedded in the export is used, which proves only that the file is self-consistent.

The file: line 1 is a header, then one line per event in chain order, then the signed
checkpoints, then (v3) the master-data changes the site's transfers rest on, then an end line
sealed with the site key. Each event's hash is

    sha256(UTF-8 of "\\n".join([scheme, prev_hash, site_id, chain_position, event_id,
        stream_type, stream_id, version, type, schema_version, occurred_at, recorded_at,
        actor_id, device_id, rule_set_version, findings, payload]))

with absent values as the empty string and `findings` / `payload` the exact JSON text stored
(given as strings in the export). The chain starts at 64 zeros; positions have no gaps; each
event's prev_hash is the previous hash; each checkpoint is an EdDSA JWS over
{site_id, chain_position, hash} that must verify with the site key and name a hash of the
chain, and whose key_id is the kid its JWS names. The end line gives the count, head position
and head hash, and a JWS of them with the site key, made at export, that also signs
header_sha256: the SHA-256 of the header line's exact bytes (without its newline). So the whole
file is signed, not only the chain up to the last checkpoint: a file cut short or rewritten
after it, or a header with another site name, code or key, does not verify. A public key in the
header must be the key given with --key/--jwk.

A v3 export also carries master-data change lines (`record: change`): rows of the change trail
of the handlers' and carriers' licences, vehicles and crew, and the site's own contracts,
transfer approvals and management plans (who changed what, when, the values after). Each row's
hash is

    sha256(UTF-8 of "\\n".join([change_scheme, prev_hash, entity, entity_id, action, actor_id,
        at, data as canonical JSON (sorted keys, no spaces, UTF-8 kept)]))

and must match; the trail's chain runs through rows the export leaves out (other enterprises',
users and devices), so the lines are checked as a whole by the seal: the end line gives their
count and `changes_sha256`, the SHA-256 of the change lines' exact bytes (each with its newline),
and the seal signs both.

A v1 export has no seal: nothing signs its header or the events after the last checkpoint, and
relabelling a v2 file as v1 would switch the seal check off. So it fails unless
--accept-unsealed is given; then it is checked as far as it goes, with a note of how many
events only the hash chain covers.
Exit status 0 when everything verifies, 1 with the first failing line otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field

import jwt
from jwt.algorithms import OKPAlgorithm

SCHEME = "hazchain-chain-v1"
CHANGE_SCHEME = "hazchain-change-trail-v1"
FORMAT = "hazchain-log-export-v3"  # v2 and the master-data change lines
SEALED = "hazchain-log-export-v2"  # sealed, without change lines
UNSEALED = "hazchain-log-export-v1"  # the end record is not sealed: only with --accept-unsealed
FORMATS = (UNSEALED, SEALED, FORMAT)
SEAL = "log-export-seal"
# Checkpoints and the seal are signed statements, not sessions: a reader whose clock is behind
# the signer's (a regulator's laptop) must not take them for forgeries.
SIGNED = {"verify_iat": False}
GENESIS = "0" * 64
FIELDS = (
    "prev_hash",
    "site_id",
    "chain_position",
    "event_id",
    "stream_type",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "device_id",
    "rule_set_version",
    "findings",
    "payload",
)


@dataclass
class Result:
    ok: bool
    events: int = 0
    checkpoints: int = 0
    changes: int = 0
    line: int | None = None
    reason: str = ""
    site_id: str = ""
    head_hash: str = ""
    head_position: int = 0
    # the last chain position a signature of the site covers: the head when the end is sealed
    signed_through: int = 0
    sealed: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.ok:
            return f"FAILED at line {self.line}: {self.reason}"
        signed = (
            f"sealed with the site key at export through position {self.head_position}"
            if self.sealed
            else f"signed through position {self.signed_through} of {self.head_position}"
        )
        changes = f", {self.changes} master-data changes verified" if self.changes else ""
        return (
            f"ok: {self.events} events of site {self.site_id}, chain intact, "
            f"{self.checkpoints} signed checkpoints verified{changes}, {signed}; "
            f"head {self.head_hash}"
        )


def event_hash(e: dict) -> str:
    parts = [SCHEME]
    for name in FIELDS:
        v = e.get(name)
        parts.append("" if v is None else str(v))
    material = "\n".join(parts)
    if material.count("\n") != len(FIELDS):
        raise ValueError("a hashed field contains a newline")
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def change_hash(c: dict) -> str:
    data = json.dumps(c.get("data"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    parts = [CHANGE_SCHEME]
    for name in ("prev_hash", "entity", "entity_id", "action", "actor_id", "at"):
        v = c.get(name)
        parts.append("" if v is None else str(v))
    if any("\n" in part for part in parts):  # fields must not shift (`data`'s JSON has none)
        raise ValueError("a hashed field of a master-data change contains a newline")
    return hashlib.sha256("\n".join([*parts, data]).encode("utf-8")).hexdigest()


def _key(header: dict, pem: str | None, jwk: dict | None):  # type: ignore[no-untyped-def]
    if jwk is not None:
        return jwt.PyJWK(jwk, algorithm="EdDSA").key
    if pem is not None:
        return pem
    return header["public_key_pem"]


def _key_x(key) -> str:  # type: ignore[no-untyped-def]
    """An Ed25519 public key (PEM text, JWK or key object) as its JWK `x`: one form to compare."""
    if isinstance(key, dict):
        key = jwt.PyJWK(key, algorithm="EdDSA").key
    elif isinstance(key, str):
        key = OKPAlgorithm().prepare_key(key)
    return OKPAlgorithm.to_jwk(key, as_dict=True)["x"]


def _header_key_problem(header: dict, key, given: bool) -> str | None:  # type: ignore[no-untyped-def]
    """Why a public key the header carries is not the key the file is checked with, or None."""
    which = "the key given with --key/--jwk" if given else "the header's public_key_pem"
    want = _key_x(key)
    for name in ("public_key_pem", "public_jwk"):
        if header.get(name) is None:
            continue
        try:
            x = _key_x(header[name])
        except Exception as exc:
            return f"the header's {name} is not a usable Ed25519 public key ({exc})"
        if x != want:
            return f"the header's {name} is not {which}: the file names another signer"
    return None


def _header_problem(rec: dict, accept_unsealed: bool) -> str | None:
    """Why line 1 is not a header this verifier checks, or None."""
    if rec.get("record") != "header" or rec.get("format") not in FORMATS:
        return f"not a hazchain log export (expected a {FORMAT} header)"
    if rec["format"] == FORMAT and rec.get("change_hash_scheme") != CHANGE_SCHEME:
        return f"unknown change hash scheme {rec.get('change_hash_scheme')!r}"
    if rec["format"] == UNSEALED and not accept_unsealed:
        return (
            "unsealed v1 export: nothing signs its tail or header; ask the site "
            "for a new export, or pass --accept-unsealed to check what it holds"
        )
    return None


def verify_lines(  # type: ignore[no-untyped-def]
    lines, pem: str | None = None, jwk: dict | None = None, *, accept_unsealed: bool = False
) -> Result:
    """Check an export given as an iterable of text lines. An unsealed v1 export fails unless
    `accept_unsealed`."""
    header = None
    header_sha256 = ""
    key = None
    prev, expected = GENESIS, 1
    hashes: dict[int, str] = {}
    res = Result(ok=False)
    ended = False
    versions: dict[str, int] = {}
    changes = hashlib.sha256()  # over the change lines' exact bytes, each with its newline
    last_change = 0
    for n, raw in enumerate(lines, start=1):
        res.line = n
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            res.reason = f"not valid JSON ({exc.msg} at column {exc.colno})"
            return res
        kind = rec.get("record")
        if ended:
            res.reason = "content after the end record"
            return res
        if n == 1:
            problem = _header_problem(rec, accept_unsealed)
            if problem:
                res.reason = problem
                return res
            header = rec
            # the seal signs the header line's exact bytes, as written, without its newline
            header_sha256 = hashlib.sha256(raw.rstrip("\r\n").encode("utf-8")).hexdigest()
            res.site_id = rec["site_id"]
            if rec["format"] == UNSEALED:
                res.notes.append(
                    f"an unsealed {UNSEALED} export accepted (--accept-unsealed): no signature "
                    "covers its header (site name, code, public key)"
                )
            if pem is None and jwk is None:
                res.notes.append(
                    "checked with the key embedded in the file: get the site's key from the "
                    "operator (--key) to prove who signed"
                )
            try:
                key = _key(header, pem, jwk)
                problem = _header_key_problem(header, key, pem is not None or jwk is not None)
            except Exception as exc:
                res.reason = f"unusable public key ({exc})"
                return res
            if problem:
                res.reason = problem
                return res
            continue
        if kind == "event":
            if rec.get("site_id") != res.site_id:
                res.reason = f"event of another site {rec.get('site_id')}"
                return res
            if rec.get("chain_position") != expected:
                res.reason = (
                    f"expected chain position {expected}, found {rec.get('chain_position')}: "
                    "events missing or out of order"
                )
                return res
            if rec.get("prev_hash") != prev:
                res.reason = "prev_hash does not match the previous event's hash"
                return res
            try:
                h = event_hash(rec)
            except ValueError as exc:
                res.reason = str(exc)
                return res
            if h != rec.get("hash"):
                res.reason = (
                    f"hash does not match the event's content (event {rec.get('event_id')}, "
                    f"position {expected}): the line was altered"
                )
                return res
            stream = str(rec.get("stream_id"))
            if rec.get("version") != versions.get(stream, 0) + 1:
                res.reason = f"stream {stream} skips from version {versions.get(stream, 0)}"
                return res
            versions[stream] = rec["version"]
            hashes[expected] = h
            prev = h
            expected += 1
            res.events += 1
        elif kind == "checkpoint":
            try:
                claims = jwt.decode(rec["jws"], key, algorithms=["EdDSA"], options=SIGNED)
            except Exception as exc:
                res.reason = f"signed checkpoint does not verify with the site key ({exc})"
                return res
            pos = claims.get("chain_position")
            if claims.get("site_id") != res.site_id or claims.get("hash") != rec.get("hash"):
                res.reason = "signed checkpoint content differs from the line"
                return res
            if pos != rec.get("chain_position") or hashes.get(pos) != claims.get("hash"):
                res.reason = (
                    f"the chain's hash at position {pos} differs from the signed checkpoint: "
                    "history before it was rewritten"
                )
                return res
            kid = jwt.get_unverified_header(rec["jws"]).get("kid")
            if rec.get("key_id") != kid:
                res.reason = (
                    f"the checkpoint's key_id {rec.get('key_id')!r} is not the key id its "
                    f"signature names ({kid!r})"
                )
                return res
            res.checkpoints += 1
            res.signed_through = max(res.signed_through, pos)
        elif kind == "change" and header["format"] == FORMAT:
            if not isinstance(rec.get("id"), int) or rec["id"] <= last_change:
                res.reason = "master-data change out of trail order (ids must increase)"
                return res
            try:
                h = change_hash(rec)
            except ValueError as exc:
                res.reason = str(exc)
                return res
            if h != rec.get("hash"):
                res.reason = (
                    f"hash does not match the master-data change (row {rec['id']}, "
                    f"{rec.get('entity')} {rec.get('entity_id')}): the line was altered"
                )
                return res
            last_change = rec["id"]
            changes.update(raw.rstrip("\r\n").encode("utf-8") + b"\n")
            res.changes += 1
        elif kind == "end":
            head = expected - 1
            if (rec.get("events"), rec.get("head_position"), rec.get("head_hash")) != (
                res.events,
                head,
                prev,
            ):
                res.reason = "the end record does not match the events (lines removed or added)"
                return res
            if header["format"] == FORMAT and (
                rec.get("changes"),
                rec.get("changes_sha256"),
            ) != (res.changes, changes.hexdigest()):
                res.reason = (
                    "the end record does not match the master-data change lines (lines "
                    "removed, added or altered)"
                )
                return res
            if header["format"] != UNSEALED:
                problem = _seal_problem(rec, key, header, header_sha256, n)
                if problem:
                    res.line, res.reason = problem
                    return res
                res.sealed, res.signed_through = True, head
            elif head > res.signed_through:
                res.notes.append(
                    f"a {header['format']} export, whose end is not sealed: the "
                    f"{head - res.signed_through} events after position {res.signed_through} "
                    "(the last signed checkpoint) are covered by the hash chain alone, so a "
                    "file cut short or rewritten there would still verify"
                )
            res.head_position = head
            ended = True
        else:
            res.reason = f"unknown record {kind!r}"
            return res
    if header is None:
        res.line = 1
        res.reason = "empty file"
        return res
    if not ended:
        res.line = (res.line or 0) + 1
        res.reason = "the file ends without its end record (truncated)"
        return res
    res.ok = True
    res.line = None
    res.head_hash = prev
    return res


def _seal_problem(  # type: ignore[no-untyped-def]
    rec: dict, key, header: dict, header_sha256: str, line: int
) -> tuple[int, str] | None:
    """The line at fault and why the end record's seal fails, or None: a JWS with the site key
    over the header's SHA-256, the count, the head and the export time of this very file. A
    header that differs from the sealed one is a problem of line 1, anything else of the end
    record's `line`."""
    if not rec.get("jws"):
        return (
            line,
            "the end record is not sealed (a sealed export's end carries the site's signature)",
        )
    try:
        claims = jwt.decode(rec["jws"], key, algorithms=["EdDSA"], options=SIGNED)
    except Exception as exc:
        return line, f"the end record's seal does not verify with the site key ({exc})"
    if not claims.get("header_sha256"):
        return line, "the end record's seal does not sign the header (no header_sha256)"
    if claims["header_sha256"] != header_sha256:
        return 1, (
            "the header differs from the one sealed at export (its SHA-256 is not the seal's "
            "header_sha256): a header field was changed"
        )
    want = {
        "typ": SEAL,
        "format": header["format"],
        "site_id": header["site_id"],
        "exported_at": header.get("exported_at"),
        "events": rec.get("events"),
        "head_position": rec.get("head_position"),
        "head_hash": rec.get("head_hash"),
    }
    if header["format"] == FORMAT:  # v3: the seal signs the change lines too
        want.update(changes=rec.get("changes"), changes_sha256=rec.get("changes_sha256"))
    wrong = {k for k, v in want.items() if claims.get(k) != v}
    if rec.get("exported_at") != header.get("exported_at"):
        wrong.add("exported_at")
    if rec.get("header_sha256") != header_sha256:
        wrong.add("header_sha256")
    if wrong:
        return line, f"the end record's seal does not match the file ({', '.join(sorted(wrong))})"
    return None


def verify_file(
    path: str, pem: str | None = None, jwk: dict | None = None, *, accept_unsealed: bool = False
) -> Result:
    # a byte that is not UTF-8 becomes U+FFFD, so its line fails its hash instead of the reader
    with open(path, encoding="utf-8", errors="replace") as fh:
        return verify_lines(fh, pem, jwk, accept_unsealed=accept_unsealed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Verify a hazchain log export offline.")
    ap.add_argument("file")
    ap.add_argument("--key", help="the site's public key, PEM file")
    ap.add_argument("--jwk", help="the site's public key, JWK JSON file")
    ap.add_argument(
        "--accept-unsealed",
        action="store_true",
        help=f"check an unsealed {UNSEALED} export as far as it goes instead of failing it",
    )
    args = ap.parse_args(argv)
    pem = open(args.key, encoding="utf-8").read() if args.key else None  # noqa: SIM115
    jwk = json.load(open(args.jwk, encoding="utf-8")) if args.jwk else None  # noqa: SIM115
    res = verify_file(args.file, pem, jwk, accept_unsealed=args.accept_unsealed)
    for note in res.notes:
        sys.stdout.write(f"note: {note}\n")
    sys.stdout.write(res.summary() + "\n")
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
