//! Properties of the canonical writer and of the index's single-walk keys:
//! the canonical text is the one the straightforward writer (kept here as
//! the reference) produces, the exact bytes are `serde_json`'s, and the keys
//! the index computes are those of [`MatchRules::key`] and
//! [`RequestKey::of_bytes`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::*;
use crate::format::{HeaderList, Response};

/// The canonical writer as it was first written: sorted key lists, a map
/// lookup per member, pointer segments matched against formatted indices.
mod reference {
    use serde_json::Value;

    pub(super) fn write_json(value: &Value, pointers: &[Vec<String>], out: &mut Vec<u8>) {
        let active: Vec<&[String]> = pointers.iter().map(Vec::as_slice).collect();
        write_value(value, &active, out);
    }

    fn write_value(value: &Value, pointers: &[&[String]], out: &mut Vec<u8>) {
        match value {
            Value::Null => out.extend(b"null"),
            Value::Bool(true) => out.extend(b"true"),
            Value::Bool(false) => out.extend(b"false"),
            Value::Number(n) => write_number(n, out),
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                let mut first = true;
                for (i, item) in items.iter().enumerate() {
                    let below = if pointers.is_empty() {
                        Vec::new()
                    } else {
                        match descend(pointers, &i.to_string()) {
                            Some(below) => below,
                            None => continue,
                        }
                    };
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    write_value(item, &below, out);
                }
                out.push(b']');
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_unstable();
                out.push(b'{');
                let mut first = true;
                for key in keys {
                    let below = if pointers.is_empty() {
                        Vec::new()
                    } else {
                        match descend(pointers, key) {
                            Some(below) => below,
                            None => continue,
                        }
                    };
                    let item = &map[key];
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    write_string(key, out);
                    out.push(b':');
                    write_value(item, &below, out);
                }
                out.push(b'}');
            }
        }
    }

    fn descend<'a>(pointers: &[&'a [String]], key: &str) -> Option<Vec<&'a [String]>> {
        let mut below = Vec::new();
        for pointer in pointers {
            let Some((head, rest)) = pointer.split_first() else {
                continue;
            };
            if head == "*" || head == key {
                if rest.is_empty() {
                    return None;
                }
                below.push(rest);
            }
        }
        Some(below)
    }

    fn write_number(n: &serde_json::Number, out: &mut Vec<u8>) {
        if let Some(f) = n.as_f64()
            && n.is_f64()
            && f.fract() == 0.0
            && f.abs() < 9.0e15
        {
            out.extend((f as i64).to_string().as_bytes());
            return;
        }
        out.extend(n.to_string().as_bytes());
    }

    fn write_string(s: &str, out: &mut Vec<u8>) {
        out.push(b'"');
        for &b in s.as_bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b if b < 0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                b => out.push(b),
            }
        }
        out.push(b'"');
    }
}

/// Keys that sort in interesting ways and match pointer segments.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-c]{0,3}",
        "[a-z_]{1,12}",
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("~".to_owned()),
        Just("a/b".to_owned()),
        "[\\x00-\\x1f\"\\\\é😀ab]{1,4}",
        // Long common prefixes, and prefixes that differ from the key in
        // NUL bytes only.
        "cache_[a-c]{0,4}",
        "abcdefg[a\\x00]{0,3}",
        "a\\x00{0,9}",
    ]
}

/// Any JSON, objects with their members in any order.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        (-1000i32..1000).prop_map(|n| Value::from(f64::from(n))),
        "\\PC{0,40}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\/é€😀a-z ]{0,40}".prop_map(Value::String),
        "[a-z ]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner.clone()), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
            // Members in sorted order, as many recorded bodies have them.
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Pointers over the same keys, with wildcards and array indices.
fn pointers() -> impl Strategy<Value = Vec<String>> {
    let segment = prop_oneof![
        "[a-c]{0,2}",
        Just("*".to_owned()),
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("~0".to_owned()),
        Just("a~1b".to_owned()),
    ];
    let pointer = prop_oneof![
        prop::collection::vec(segment, 1..4).prop_map(|s| format!("/{}", s.join("/"))),
        Just(String::new()),
        Just("no-slash".to_owned()),
    ];
    prop::collection::vec(pointer, 0..4)
}

fn parsed(pointers: &[String]) -> Vec<Vec<String>> {
    pointers.iter().filter_map(|p| parse_pointer(p)).collect()
}

/// The canonical bytes and the exact bytes of `value`, written in one walk.
fn both(value: &Value, pointers: &[Vec<String>]) -> (Vec<u8>, Vec<u8>) {
    let mut canonical = b"head ".to_vec();
    let mut exact = Exact {
        bytes: b"exact head ".to_vec(),
        synced: canonical.len(),
    };
    let mut walk = Walk::default();
    write_value(
        value,
        Pointers::Whole(pointers),
        &mut canonical,
        &mut exact,
        &mut walk,
    );
    exact.flush(&canonical);
    assert!(walk.members.is_empty() && walk.spans.is_empty());
    (canonical[5..].to_vec(), exact.bytes[11..].to_vec())
}

fn request(method: &str, url: &str, body: Option<Body>) -> Request {
    Request {
        method: method.to_owned(),
        url: url.to_owned(),
        headers: HeaderList::default(),
        body,
    }
}

fn interaction(request: Request) -> Interaction {
    Interaction {
        recorded_at: None,
        request,
        response: Response {
            status: 200,
            headers: HeaderList::default(),
            body: None,
            stream: None,
        },
    }
}

fn rules(pointers: &[String]) -> MatchRules {
    let mut rules = MatchRules::new()
        .with_dropped_query_param("key")
        .with_body_ignore(BodyIgnore::for_path_suffix(
            "/chat/completions",
            ["/user", "/metadata"],
        ))
        .with_body_ignore(BodyIgnore::for_host("example.com", ["/b/*/c"]));
    rules.ignore_pointers = pointers.to_vec();
    rules
}

fn body() -> impl Strategy<Value = Option<Body>> {
    prop_oneof![
        Just(None),
        json().prop_map(|v| Some(Body::Json(v))),
        "\\PC{0,20}".prop_map(|t| Some(Body::Text(t))),
        Just(Some(Body::Text("{\"b\": 1, \"a\": [1.0]}".to_owned()))),
        Just(Some(Body::Base64("aGVsbG8=".to_owned()))),
        Just(Some(Body::Base64("not base64!".to_owned()))),
    ]
}

fn url() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "https://api.example.com/v1/chat/completions?key=AIza&b=2&a=1",
        "HTTPS://API.Example.com:443/v1/chat/completions/",
        "http://127.0.0.1:8080/v1/messages?beta=true",
        "https://h/x#frag",
        "not a url",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_text_is_the_reference_writers(value in json(), pointers in pointers()) {
        let pointers = parsed(&pointers);
        let mut new = Vec::new();
        write_json(&value, &pointers, &mut new);
        let mut old = Vec::new();
        reference::write_json(&value, &pointers, &mut old);
        prop_assert_eq!(String::from_utf8_lossy(&new), String::from_utf8_lossy(&old));
    }

    #[test]
    fn one_walk_writes_the_canonical_and_the_exact_bytes(value in json(), pointers in pointers()) {
        let pointers = parsed(&pointers);
        let (canonical, exact) = both(&value, &pointers);
        let mut alone = Vec::new();
        write_json(&value, &pointers, &mut alone);
        prop_assert_eq!(String::from_utf8_lossy(&canonical), String::from_utf8_lossy(&alone));
        let expected = serde_json::to_vec(&value).unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&exact), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn the_index_keys_every_request_as_the_rules_do(
        requests in prop::collection::vec(
            (prop::sample::select(vec!["POST", "get", "Put"]), url(), body()),
            1..12,
        ),
        pointers in pointers(),
        match_body in any::<bool>(),
    ) {
        let rules = rules(&pointers).with_match_body(match_body);
        let list: Vec<Interaction> = requests
            .into_iter()
            .map(|(method, url, body)| interaction(request(method, url, body)))
            .collect();
        let index = Index::new(rules.clone(), &list);
        let mut pushed = Index::new(rules.clone(), &[]);
        for interaction in &list {
            pushed.push(interaction, false);
        }
        for interaction in &list {
            let r = &interaction.request;
            let key = rules.key(r);
            prop_assert!(index.knows(&key));
            prop_assert!(pushed.knows(&key));
            let body = r.body.as_ref().map(crate::convert::body_bytes);
            let exact = RequestKey::of_bytes(&r.method, &r.url, body.as_deref());
            prop_assert_eq!(index.key_of_exact(&exact), Some(key));
            prop_assert_eq!(pushed.key_of_exact(&exact), Some(key));
        }
    }
}

#[test]
fn reordered_members_with_ignored_and_divergent_parts() {
    // Unsorted objects inside sorted ones and the reverse, ignored members
    // first, last and between, integral floats and control characters in
    // members that are moved.
    let value = serde_json::json!({
        "z": {"b": 1.0, "a": "x\ny", "c": [3, {"y": 2.0, "x": "\u{1}"}]},
        "user": "u",
        "a": [{"d": 1, "c": {"f": 1, "e": 2}}, 2.5, "\"q\"\\"],
        "metadata": {"k": 1},
        "m": {"a": 1, "b": {"d": 1, "c": 1}},
    });
    for pointers in [
        vec![],
        vec!["/user".to_owned(), "/metadata".to_owned()],
        vec!["/z/a".to_owned(), "/a/0".to_owned(), "/m/b/c".to_owned()],
        vec!["/*/c".to_owned(), "/a/*/c/e".to_owned()],
        vec!["/z".to_owned(), "/a".to_owned(), "/m".to_owned()],
    ] {
        let pointers = parsed(&pointers);
        let (canonical, exact) = both(&value, &pointers);
        let mut old = Vec::new();
        reference::write_json(&value, &pointers, &mut old);
        assert_eq!(
            String::from_utf8_lossy(&canonical),
            String::from_utf8_lossy(&old)
        );
        assert_eq!(exact, serde_json::to_vec(&value).unwrap());
    }
}

/// The canonical string form, byte by byte.
fn canonical_string(s: &str) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b if b < 0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            b => out.push(b),
        }
    }
    out.push(b'"');
    out
}

#[test]
fn strings_of_every_length_and_escape_position() {
    for len in 0..40 {
        let base: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let mut cases = vec![base.clone()];
        for at in 0..len {
            for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', 'é', ' ', '\u{7f}'] {
                let mut s: Vec<char> = base.chars().collect();
                s[at] = special;
                cases.push(s.into_iter().collect());
            }
        }
        for s in cases {
            let mut out = Vec::new();
            write_string(&s, &mut out);
            assert_eq!(out, canonical_string(&s), "{s:?}");
            let mut canonical = b"head ".to_vec();
            let mut exact = Exact {
                bytes: b"other head ".to_vec(),
                synced: canonical.len(),
            };
            write_string_both(&s, &mut canonical, &mut exact);
            exact.flush(&canonical);
            assert_eq!(canonical[5..], canonical_string(&s), "{s:?}");
            assert_eq!(exact.bytes[11..], serde_json::to_vec(&s).unwrap(), "{s:?}");
            let first = s.bytes().position(|b| b == b'"' || b == b'\\' || b < 0x20);
            assert_eq!(plain_run(s.as_bytes()), first.unwrap_or(s.len()), "{s:?}");
        }
    }
}
