#!/usr/bin/env python3
"""Writes json.txt: the request and response bodies of the real cassettes.

Run from the repository root: python3 benches/corpus/extract_json.py
Bodies that parse as JSON are written alternately compact and indented; other
bodies (SSE streams, plain text) are written as they are. The output is committed,
so the bench corpus does not change when the cassettes do.
"""
import base64
import glob
import gzip
import json

import yaml


def body_text(part):
    if "parsed_body" in part:
        return part["parsed_body"]
    b = part.get("body")
    if isinstance(b, dict):
        if "content" in b and "type" in b:
            b = b["content"]
            if isinstance(b, (dict, list)):
                return b
        elif "string" in b:
            b = b["string"]
    if isinstance(b, bytes):
        try:
            b = gzip.decompress(b)
        except OSError:
            pass
        b = b.decode("utf-8", "replace")
    if isinstance(b, str):
        try:
            return json.loads(b)
        except ValueError:
            return b
    return b


def main():
    out = []
    n = 0
    for path in sorted(glob.glob("cassettes/real/*/*.yaml")):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for it in doc.get("interactions", []):
            for part in (it.get("request", {}), it.get("response", {})):
                body = body_text(part)
                if body is None or body == "":
                    continue
                if isinstance(body, (dict, list)):
                    n += 1
                    text = json.dumps(body, ensure_ascii=False, indent=2 if n % 2 else None)
                else:
                    text = str(body)
                if "base64," in text or len(text) > 20000:
                    continue
                out.append(text)
    with open("benches/corpus/json.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(out))
        f.write("\n")


if __name__ == "__main__":
    main()
