"""Writes vcrpy_digests.tsv: what PyYAML reads from each real VCR.py cassette.

The Rust test `vcrpy_corpus.rs` reads the same files with the crate's reader
and compares, interaction by interaction, the method, URI, status, header
entries and decoded body against this table. The digest is FNV-1a (64-bit)
over a canonical byte form that both sides produce the same way:

- text and byte bodies: the decoded bytes;
- JSON (`parsed_body`): a type-tagged walk that keeps key order, with floats
  as their IEEE-754 bits, so no number formatting is involved;
- headers: each name and its values, length-prefixed.

Run from the repository root: python3 crates/cassette/tests/data/gen_vcrpy_digests.py
"""

import glob
import gzip
import os
import struct
import zlib

import yaml

ROOT = "cassettes/real"
OUT = os.path.join(os.path.dirname(__file__), "vcrpy_digests.tsv")


def fnv(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def s(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"s" + str(len(raw)).encode() + b":" + raw


def key(k) -> str:
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    return str(k)


def canon(v) -> bytes:
    if v is None:
        return b"n"
    if isinstance(v, bool):
        return b"t" if v else b"f"
    if isinstance(v, int):
        return b"i" + str(v).encode() + b";"
    if isinstance(v, float):
        return b"d" + struct.pack(">d", v).hex().encode() + b";"
    if isinstance(v, str):
        return s(v)
    if isinstance(v, list):
        return b"[" + b"".join(canon(x) for x in v) + b"]"
    if isinstance(v, dict):
        return b"{" + b"".join(s(key(k)) + canon(x) for k, x in v.items()) + b"}"
    raise TypeError(type(v))


def scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def headers(h) -> tuple[int, bytes]:
    out = b""
    h = h or {}
    for name, values in h.items():
        if not isinstance(values, list):
            values = [values]
        out += s(str(name)) + b"[" + b"".join(s(scalar(x)) for x in values) + b"]"
    return len(h), out


def encoding(h) -> str:
    for name, values in (h or {}).items():
        if name.lower() == "content-encoding":
            return (values[0] if isinstance(values, list) else values).strip().lower()
    return ""


def body(side) -> tuple[str, bytes]:
    if "parsed_body" in side:
        return "json", canon(side["parsed_body"])
    b = side.get("body")
    if isinstance(b, dict) and "string" in b:
        b = b["string"]
    if b is None or b == "" or b == b"":
        return "empty", b""
    if isinstance(b, str):
        return "text", b.encode("utf-8")
    if isinstance(b, bytes):
        enc = encoding(side.get("headers"))
        if enc == "gzip" or (enc == "" and b[:2] == b"\x1f\x8b"):
            b = gzip.decompress(b)
        elif enc == "deflate":
            b = zlib.decompress(b)
        try:
            b.decode("utf-8")
            return ("text" if b else "empty"), b
        except UnicodeDecodeError:
            return "bytes", b
    raise TypeError(type(b))


rows = []
for path in sorted(glob.glob(f"{ROOT}/**/*.yaml", recursive=True)):
    rel = os.path.relpath(path, ROOT)
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for i, it in enumerate(doc["interactions"]):
        req, resp = it["request"], it["response"]
        for side_name, side in (("request", req), ("response", resp)):
            n, hbytes = headers(side.get("headers"))
            kind, data = body(side)
            if side_name == "request":
                head = req["method"].upper() + " " + fnv(req["uri"].encode("utf-8"))
            else:
                st = resp["status"]
                head = str(st["code"] if isinstance(st, dict) else st)
            rows.append([rel, str(i), side_name, head, str(n), fnv(hbytes), kind, str(len(data)), fnv(data)])

with open(OUT, "w", encoding="utf-8", newline="\n") as f:
    f.write("file\tindex\tside\thead\theader_entries\theaders_fnv\tbody_kind\tbody_len\tbody_fnv\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(f"wrote {len(rows)} rows to {OUT}")
