//! The one canonical form of a request body, shared by keys and miss
//! explanations.
//!
//! A JSON object or array is parsed once with `serde_json` and written back
//! with the keys of every object sorted, integral floats written as
//! integers, and the fields named by the ignored JSON pointers left out.
//! Other UTF-8 text is itself, and other bytes are themselves.

use std::io::Write as _;

use serde_json::Value;

/// Writes the canonical form of a body: `empty`, `json ` and the canonical
/// JSON, `text ` and the text, or `bytes ` and the bytes.
pub(crate) fn write_body(body: &[u8], pointers: &[Vec<String>], out: &mut Vec<u8>) {
    if body.is_empty() {
        out.extend_from_slice(b"empty");
        return;
    }
    match parse_json(body) {
        Some(value) => {
            out.extend_from_slice(b"json ");
            let active: Vec<&[String]> = pointers.iter().map(Vec::as_slice).collect();
            write_value(&value, &active, out);
        }
        None if std::str::from_utf8(body).is_ok() => {
            out.extend_from_slice(b"text ");
            out.extend_from_slice(body);
        }
        None => {
            out.extend_from_slice(b"bytes ");
            out.extend_from_slice(body);
        }
    }
}

/// The body as JSON, when it is a JSON object or array.
pub(crate) fn parse_json(body: &[u8]) -> Option<Value> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(first, b'{' | b'[') {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// Parses an RFC 6901 pointer into its unescaped segments; `None` for the
/// whole document or text that is not a pointer.
pub(crate) fn parse_pointer(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Whether a pointer segment names `key` (`*` names any key or index).
fn segment_matches(segment: &str, key: &str) -> bool {
    segment == "*" || segment == key
}

/// The pointers that go on below `key`, or `None` when one of them names
/// `key` itself, which is then left out.
fn descend<'a>(pointers: &[&'a [String]], key: &str) -> Option<Vec<&'a [String]>> {
    let mut below = Vec::new();
    for pointer in pointers {
        if let Some((head, tail)) = pointer.split_first()
            && segment_matches(head, key)
        {
            if tail.is_empty() {
                return None;
            }
            below.push(tail);
        }
    }
    Some(below)
}

fn write_value(value: &Value, pointers: &[&[String]], out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            let mut first = true;
            for (key, member) in members {
                let Some(below) = descend(pointers, key) else {
                    continue;
                };
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(member, &below, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            let mut first = true;
            for (index, item) in items.iter().enumerate() {
                let below = if pointers.is_empty() {
                    Some(Vec::new())
                } else {
                    descend(pointers, &index.to_string())
                };
                let Some(below) = below else {
                    continue;
                };
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_value(item, &below, out);
            }
            out.push(b']');
        }
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    // Writing a string into a vector cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// A number as compared: integers as themselves, floats with no fraction
/// (within the range where every integer is exact) as integers, others as
/// `serde_json` writes them.
pub(crate) fn write_number(number: &serde_json::Number, out: &mut Vec<u8>) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if number.is_f64()
        && let Some(float) = number.as_f64()
        && float.fract() == 0.0
        && float.abs() <= EXACT
    {
        #[allow(clippy::cast_possible_truncation)]
        let _ = write!(out, "{}", float as i64);
        return;
    }
    let _ = write!(out, "{number}");
}

/// `value` without the fields named by `pointers`.
pub(crate) fn strip(value: Value, pointers: &[Vec<String>]) -> Value {
    let active: Vec<&[String]> = pointers.iter().map(Vec::as_slice).collect();
    strip_value(value, &active)
}

fn strip_value(value: Value, pointers: &[&[String]]) -> Value {
    if pointers.is_empty() {
        return value;
    }
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter_map(|(key, member)| {
                    let below = descend(pointers, &key)?;
                    Some((key, strip_value(member, &below)))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .filter_map(|(index, item)| {
                    let below = descend(pointers, &index.to_string())?;
                    Some(strip_value(item, &below))
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn canonical(body: &str, pointers: &[&str]) -> String {
        let pointers: Vec<Vec<String>> = pointers.iter().filter_map(|p| parse_pointer(p)).collect();
        let mut out = Vec::new();
        write_body(body.as_bytes(), &pointers, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn keys_sorted_numbers_normalised_pointers_dropped() {
        assert_eq!(
            canonical(
                r#"{"b": [1.0, 2.5, {"z": 1, "y": null}], "a": "x", "user": "u"}"#,
                &["/user"]
            ),
            r#"json {"a":"x","b":[1,2.5,{"y":null,"z":1}]}"#
        );
        assert_eq!(
            canonical(r#"{"m": [{"n": 1, "id": 2}, {"id": 3}]}"#, &["/m/*/id"]),
            r#"json {"m":[{"n":1},{}]}"#
        );
        assert_eq!(canonical("[1, 2]", &["/1"]), "json [1]");
        assert_eq!(canonical("", &[]), "empty");
        assert_eq!(canonical("plain {", &[]), "text plain {");
        assert_eq!(canonical(r#"{"a~/b": 1}"#, &["/a~0~1b"]), "json {}");
    }

    #[test]
    fn strip_agrees_with_the_canonical_writer() {
        let value: Value =
            serde_json::from_str(r#"{"a": {"b": 1, "c": [1, {"d": 2}]}, "e": 3}"#).unwrap();
        let pointers = vec![
            parse_pointer("/a/c/1/d").unwrap(),
            parse_pointer("/e").unwrap(),
        ];
        let stripped = strip(value.clone(), &pointers);
        let mut from_stripped = Vec::new();
        write_value(&stripped, &[], &mut from_stripped);
        let mut direct = Vec::new();
        let active: Vec<&[String]> = pointers.iter().map(Vec::as_slice).collect();
        write_value(&value, &active, &mut direct);
        assert_eq!(from_stripped, direct);
    }
}
