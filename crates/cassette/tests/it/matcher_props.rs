//! Properties of the match key: invariant under JSON key order, ignored fields
//! and query order; different bodies give different keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use llmvcr_cassette::StoredBody as Body;
use llmvcr_cassette::{
    BodyIgnore, HeaderList, MatchRules, Request, convert::body_bytes, convert::body_from_bytes,
    convert::from_recorded, import::read_any,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9 ]{0,8}".prop_map(Value::String),
    ];
    json_from(leaf)
}

/// JSON with every kind of number and string: floats, huge integers, escapes,
/// control characters, non-ASCII.
fn wild_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        (-1000i32..1000).prop_map(|n| Value::from(f64::from(n))),
        "\\PC{0,8}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\/é€😀a]{0,6}".prop_map(Value::String),
    ];
    json_from(leaf)
}

fn json_from(leaf: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Value> {
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The key from the request's parts (method, parsed URL, body bytes) and the
/// key of the same request in cassette form: they must agree.
fn fast_and_slow(
    rules: &MatchRules,
    url: &str,
    text: &str,
) -> (
    llmvcr_cassette::matcher::RequestKey,
    llmvcr_cassette::matcher::RequestKey,
) {
    let parsed = url::Url::parse(url).unwrap();
    let fast = rules.key_of_parts("POST", &parsed, Some(text.as_bytes()));
    let slow = rules.key(&Request {
        method: "POST".into(),
        url: url.into(),
        headers: HeaderList::default(),
        body: body_from_bytes(text.as_bytes()),
    });
    (fast, slow)
}

#[test]
fn keys_from_parts_agree_on_every_real_request() {
    let rules = MatchRules::new()
        .with_dropped_query_param("key")
        .with_ignored_pointer("/user")
        .with_ignored_pointer("/messages/*/content");
    let mut total = 0;
    for path in crate::support::real_yaml() {
        for recorded in read_any(&path).unwrap() {
            let interaction = from_recorded(&recorded, &[]);
            let Some(body) = &interaction.request.body else {
                continue;
            };
            let bytes = body_bytes(body);
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let (from_parts, from_request) = fast_and_slow(&rules, &interaction.request.url, text);
            assert_eq!(from_parts, from_request, "{}", path.display());
            total += 1;
        }
    }
    assert!(total > 150, "{total}");
}

/// The same value with every object's keys inserted in another order.
fn reorder(value: &Value, seed: usize) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| reorder(v, seed)).collect()),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if !entries.is_empty() {
                let len = entries.len();
                entries.rotate_left(seed % len);
                if seed % 2 == 1 {
                    entries.reverse();
                }
            }
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k.clone(), reorder(v, seed.wrapping_mul(31).wrapping_add(7)));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn request(url: &str, body: Value) -> Request {
    Request {
        method: "POST".into(),
        url: url.into(),
        headers: HeaderList::default(),
        body: Some(Body::Json(body.into())),
    }
}

fn rules() -> MatchRules {
    MatchRules::new()
        .with_dropped_query_param("key")
        .with_ignored_pointer("/user")
        .with_body_ignore(BodyIgnore::for_path_suffix(
            "/chat/completions",
            ["/metadata/trace_id"],
        ))
}

proptest! {
    #[test]
    fn keys_from_parts_agree_with_keys_from_requests(value in wild_json(), pretty in any::<bool>(), seed in any::<usize>()) {
        let rules = rules();
        let text = if pretty {
            serde_json::to_string_pretty(&reorder(&value, seed)).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        for url in ["https://api.example.com/v1/chat/completions?key=AIza1", "http://h:8080/x?b=1&a=2"] {
            let (fast, slow) = fast_and_slow(&rules, url, &text);
            prop_assert_eq!(fast, slow, "{}", text);
        }
    }

    #[test]
    fn escaped_text_keys_like_the_parsed_value(value in wild_json()) {
        // The same document with every non-ASCII character and `/` escaped.
        let rules = MatchRules::new();
        // Wrapped in an array: a bare scalar body is compared as text, byte for byte.
        let plain = serde_json::to_string(&Value::Array(vec![value])).unwrap();
        let mut escaped = String::new();
        let mut in_string = false;
        let mut chars = plain.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => { escaped.push(c); if let Some(n) = chars.next() { escaped.push(n); } }
                '"' => { in_string = !in_string; escaped.push(c); }
                '/' if in_string => escaped.push_str("\\/"),
                c if in_string && !c.is_ascii() => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        escaped.push_str(&format!("\\u{unit:04X}"));
                    }
                }
                c => escaped.push(c),
            }
        }
        let url = "https://h/x";
        let (fast, slow) = fast_and_slow(&rules, url, &escaped);
        let (_, plain_slow) = fast_and_slow(&rules, url, &plain);
        prop_assert_eq!(slow, plain_slow);
        prop_assert_eq!(fast, slow);
    }

    #[test]
    fn key_order_does_not_matter(value in json(), seed in any::<usize>()) {
        let rules = rules();
        let url = "https://api.example.com/v1/chat/completions";
        let a = request(url, value.clone());
        let b = request(url, reorder(&value, seed));
        prop_assert_eq!(rules.key(&a), rules.key(&b));
    }

    #[test]
    fn ignored_fields_do_not_matter(
        fields in prop::collection::btree_map("[a-z]{1,4}", json(), 0..5),
        user in json(),
        trace in json(),
        seed in any::<usize>(),
    ) {
        let rules = rules();
        let url = "https://api.example.com/v1/chat/completions?b=2&a=1";
        let mut base: Map<String, Value> = fields.into_iter().collect();
        base.remove("user");
        base.remove("metadata");
        let mut noisy = base.clone();
        noisy.insert("user".into(), user);
        noisy.insert("metadata".into(), serde_json::json!({"trace_id": trace}));
        let mut plain = base;
        plain.insert("metadata".into(), serde_json::json!({}));
        let a = request(url, Value::Object(plain));
        let b = request(
            &format!("https://API.example.com/v1/chat/completions?a=1&key=AIza{seed}&b=2"),
            reorder(&Value::Object(noisy), seed),
        );
        prop_assert_eq!(rules.key(&a), rules.key(&b), "{}\n{}", rules.canonical_text(&a), rules.canonical_text(&b));
    }

    #[test]
    fn different_bodies_give_different_keys(a in json(), b in json()) {
        prop_assume!(a != b);
        let rules = MatchRules::new();
        let url = "https://api.example.com/v1/x";
        prop_assert_ne!(rules.key(&request(url, a)), rules.key(&request(url, b)));
    }

    #[test]
    fn ignores_apply_only_where_they_are_declared(value in json(), user in json()) {
        // `/metadata/trace_id` is ignored for `/chat/completions` only.
        let rules = rules();
        let trace = |url: &str, t: Value| {
            let mut body = Map::new();
            body.insert("v".into(), value.clone());
            body.insert("metadata".into(), serde_json::json!({"trace_id": t}));
            body.insert("user".into(), user.clone());
            request(url, Value::Object(body))
        };
        let chat = "https://h/v1/chat/completions";
        let other = "https://h/v1/embeddings";
        prop_assert_eq!(
            rules.key(&trace(chat, Value::from(1))),
            rules.key(&trace(chat, Value::from(2)))
        );
        prop_assert_ne!(
            rules.key(&trace(other, Value::from(1))),
            rules.key(&trace(other, Value::from(2)))
        );
    }
}
