#!/usr/bin/env python3
"""Packs a tiktoken rank file (`<base64 token> <rank>` per line) into llmvcr's
compact binary form.

Usage: pack.py INPUT.tiktoken OUTPUT.bin

Layout of OUTPUT (all integers little-endian):
    b"LVBPE1\0\0"        8-byte magic
    u32 n                number of tokens; ranks are 0..n, in this order
    u32 total            sum of the token lengths
    u8  len[n]           length of token `rank`, 1..=255 bytes
    u8  bytes[total]     the tokens' bytes, concatenated in rank order

The input must list every rank from 0 to n-1 exactly once.
"""
import base64
import struct
import sys


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    tokens = {}
    with open(src, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            tok, rank = line.split()
            tokens[int(rank)] = base64.b64decode(tok)
    n = len(tokens)
    if sorted(tokens) != list(range(n)):
        sys.exit("ranks are not contiguous")
    ordered = [tokens[r] for r in range(n)]
    if any(not 1 <= len(t) <= 255 for t in ordered):
        sys.exit("token length out of range")
    blob = b"".join(ordered)
    with open(dst, "wb") as f:
        f.write(b"LVBPE1\0\0")
        f.write(struct.pack("<II", n, len(blob)))
        f.write(bytes(len(t) for t in ordered))
        f.write(blob)


if __name__ == "__main__":
    main()
