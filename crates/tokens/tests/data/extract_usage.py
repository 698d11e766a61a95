#!/usr/bin/env python3
"""Writes usage.jsonl: one line per recorded call whose response reports prompt-side
usage, taken from the real cassettes.

Run from the repository root: python3 crates/tokens/tests/data/extract_usage.py
Each line: {"file", "index", "provider", "endpoint", "model", "request", "reported"}
where `reported` is what the provider said the prompt cost:
- OpenAI chat completions: usage.prompt_tokens
- OpenAI Responses: usage.input_tokens
- Anthropic messages: input_tokens + cache_creation_input_tokens + cache_read_input_tokens
- Anthropic count_tokens: input_tokens
- Gemini generateContent / streamGenerateContent: usageMetadata.promptTokenCount
- Gemini countTokens: totalTokens
Requests larger than 40 KB (inline files and images) are left out. The output is
committed, so the tests do not change when the cassettes do.
"""
import glob
import gzip
import json

import yaml


def body(part):
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


def events(text):
    """JSON objects of an SSE stream, or of a JSON array body."""
    if isinstance(text, list):
        return [e for e in text if isinstance(e, dict)]
    if isinstance(text, dict):
        return [text]
    out = []
    for line in str(text).splitlines():
        line = line.strip()
        if line.startswith("data:"):
            try:
                j = json.loads(line[5:])
            except ValueError:
                continue
            if isinstance(j, dict):
                out.append(j)
    return out


def reported(provider, endpoint, resp):
    evs = events(resp)
    val = None
    for e in evs:
        if provider == "openai_chat":
            u = e.get("usage")
            if isinstance(u, dict) and "prompt_tokens" in u:
                val = u["prompt_tokens"]
        elif provider == "openai_responses":
            for u in (e.get("usage"), (e.get("response") or {}).get("usage") if isinstance(e.get("response"), dict) else None):
                if isinstance(u, dict) and "input_tokens" in u:
                    val = u["input_tokens"]
        elif provider == "anthropic":
            if endpoint == "count_tokens":
                if "input_tokens" in e:
                    val = e["input_tokens"]
                continue
            u = e.get("usage") or (e.get("message") or {}).get("usage")
            if isinstance(u, dict) and "input_tokens" in u and val is None:
                val = (u.get("input_tokens") or 0) + (u.get("cache_creation_input_tokens") or 0) + (u.get("cache_read_input_tokens") or 0)
        elif provider == "gemini":
            if endpoint == "count_tokens":
                if "totalTokens" in e:
                    val = e["totalTokens"]
                continue
            u = e.get("usageMetadata")
            if isinstance(u, dict) and "promptTokenCount" in u:
                val = u["promptTokenCount"]
    return val


def classify(uri):
    uri = str(uri)
    if "/chat/completions" in uri:
        return "openai_chat", "chat"
    if uri.rstrip("/").endswith("/responses") or "/responses?" in uri:
        return "openai_responses", "responses"
    if "anthropic.com" in uri and "/messages/count_tokens" in uri:
        return "anthropic", "count_tokens"
    if "anthropic.com" in uri and "/messages" in uri:
        return "anthropic", "messages"
    if ":countTokens" in uri:
        return "gemini", "count_tokens"
    if ":generateContent" in uri or ":streamGenerateContent" in uri:
        return "gemini", "generate"
    return None, None


def main():
    rows = []
    for path in sorted(glob.glob("cassettes/real/*/*.yaml")):
        folder = path.split("/")[-2]
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for i, it in enumerate(doc.get("interactions", [])):
            req = it.get("request", {})
            uri = req.get("uri") or req.get("url")
            provider, endpoint = classify(uri)
            if provider is None:
                continue
            if provider.startswith("openai") and folder not in ("openai", "azure"):
                continue
            rb = body(req)
            if not isinstance(rb, dict) or len(json.dumps(rb)) > 40000:
                continue
            val = reported(provider, endpoint, body(it.get("response", {})))
            if val is None:
                continue
            model = rb.get("model") or str(uri).split("/models/")[-1].split(":")[0]
            rows.append({
                "file": path.split("/")[-1],
                "index": i,
                "provider": provider,
                "endpoint": endpoint,
                "model": model,
                "request": rb,
                "reported": val,
            })
    with open("crates/tokens/tests/data/usage.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    print(len(rows), "rows")


if __name__ == "__main__":
    main()
