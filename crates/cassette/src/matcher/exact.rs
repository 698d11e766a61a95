//! The exact bytes of a recorded JSON body, as `serde_json::to_vec` writes
//! them, into a buffer the caller reuses.
//!
//! [`super::Index`] digests each recorded request's bytes for its
//! exact-bytes shortcut. `serde_json`'s serialiser escapes strings byte by
//! byte through a table; this writer skips plain runs a chunk at a time and
//! writes the same bytes. The tests and proptests compare the two.

use serde_json::Value;

use super::{copy_plain_run, write_int_or_display};

/// Appends `value` to `out` exactly as `serde_json::to_vec(value)` writes it.
pub(super) fn write_compact(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_int_or_display(n, out),
        Value::String(s) => write_escaped(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_compact(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_escaped(key, out);
                out.push(b':');
                write_compact(item, out);
            }
            out.push(b'}');
        }
    }
}

/// A string as `serde_json` escapes it: `"` and `\` with a backslash, the
/// controls with a short escape where JSON has one and `\u00xx` otherwise.
pub(crate) fn write_escaped(s: &str, out: &mut Vec<u8>) {
    // Without an escape the two forms are the same.
    if super::write_short_plain(s.as_bytes(), out) {
        return;
    }
    out.push(b'"');
    let mut rest = s.as_bytes();
    loop {
        let run = copy_plain_run(rest, out);
        let Some((&b, tail)) = rest.get(run..).and_then(<[u8]>::split_first) else {
            break;
        };
        escape(b, out);
        rest = tail;
    }
    out.push(b'"');
}

/// Writes the escape `serde_json` writes for `b`: `"`, `\` or a control
/// character.
pub(super) fn escape(b: u8, out: &mut Vec<u8>) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x09 => out.extend_from_slice(b"\\t"),
        0x0a => out.extend_from_slice(b"\\n"),
        0x0c => out.extend_from_slice(b"\\f"),
        0x0d => out.extend_from_slice(b"\\r"),
        _ => super::write_unicode_escape(b, out),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn same(value: &Value) {
        let mut out = Vec::new();
        write_compact(value, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(value).unwrap()
        );
    }

    #[test]
    fn equals_serde_json() {
        same(&json!(null));
        same(
            &json!({"b": [1, -2, 3.5, 1.0, -0.0, 1e300, 18446744073709551615u64, i64::MIN],
            "a": "x\"y\\z\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}é😀/", "": {}, "e": [], "t": true, "f": false}),
        );
        let long: String = (0..200)
            .map(|i| char::from(b' ' + (i % 95) as u8))
            .collect();
        same(&json!([long, format!("{long}\n{long}")]));
    }

    fn wild() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
                .map(Value::Number)),
            "\\PC{0,40}".prop_map(Value::String),
            "[\\x00-\\x1f\"\\\\/é€😀a-z]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-z\"\\\\\\x00-\\x1f]{0,4}", inner), 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn equals_serde_json_on_anything(value in wild()) {
            let mut out = Vec::new();
            write_compact(&value, &mut out);
            prop_assert_eq!(out, serde_json::to_vec(&value).unwrap());
        }
    }
}
