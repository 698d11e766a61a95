//! Request-building and decoding helpers every adapter shares: URLs, auth headers,
//! images, numbers, tool-call arguments.

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue};
use llmvcr_core::{
    ContentPart, Error, ErrorKind, ImageSource, Message, Provider, Result, ToolCall,
};
use serde_json::{Map, Value, json};

use crate::endpoint::{AuthStyle, Endpoint};

/// The text of a message whose role cannot carry images, or an
/// [`ErrorKind::Unsupported`] error naming the role.
pub(crate) fn text_only(provider: Provider, message: &Message) -> Result<String> {
    if message
        .content
        .iter()
        .any(|p| matches!(p, ContentPart::Image { .. }))
    {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "images are only supported in user messages, not in {} messages",
                message.role.as_str()
            ),
        )
        .with_provider(provider));
    }
    Ok(message.text_content())
}

/// The URL of an image: the URL itself, or a `data:` URL for inline bytes.
pub(crate) fn image_url(source: &ImageSource) -> String {
    match source {
        ImageSource::Url { url } => url.clone(),
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
    }
}

/// A finite float as a JSON number, or a [`ErrorKind::BadRequest`] error naming the field.
pub(crate) fn number(provider: Provider, field: &str, x: f64) -> Result<Value> {
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| {
            bad_request(
                provider,
                format!("{field} must be a finite number, got {x}"),
            )
        })
}

/// Merges `extra` into `body` at the top level; `extra` wins.
pub(crate) fn merge_extra(body: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (k, v) in extra {
        body.insert(k.clone(), v.clone());
    }
}

/// A [`ErrorKind::BadRequest`] error from `provider`.
pub(crate) fn bad_request(provider: Provider, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadRequest, message).with_provider(provider)
}

/// `{base_url}{path}`, with Azure's `api-version` and a query key appended as the
/// endpoint asks.
pub(crate) fn build_url(endpoint: &Endpoint, path: &str) -> String {
    let mut url = format!("{}{}", endpoint.base_url, path);
    if endpoint.provider == Provider::Azure
        && let Some(version) = &endpoint.api_version
    {
        url = append_query(url, "api-version", version);
    }
    with_query_key(url, endpoint)
}

/// Appends `key=<api key>` when the endpoint uses [`AuthStyle::QueryKey`] and has a
/// key; returns `url` unchanged otherwise.
pub(crate) fn with_query_key(url: String, endpoint: &Endpoint) -> String {
    match (&endpoint.auth, &endpoint.api_key) {
        (AuthStyle::QueryKey, Some(key)) if !key.is_empty() => {
            append_query(url, "key", key.expose())
        }
        _ => url,
    }
}

fn append_query(mut url: String, name: &str, value: &str) -> String {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(name);
    url.push('=');
    url.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
    url
}

/// `content-type: application/json`, the credential as the endpoint's [`AuthStyle`]
/// says (every style but [`AuthStyle::QueryKey`], which goes in the URL), then the
/// endpoint's extra headers, which replace defaults of the same name.
///
/// A name or value that cannot be an HTTP header gives a [`ErrorKind::BadRequest`]
/// error; the message never contains the value. Credential headers are marked
/// sensitive.
pub(crate) fn standard_headers(endpoint: &Endpoint) -> Result<HeaderMap> {
    let provider = endpoint.provider;
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(key) = endpoint.api_key.as_ref().filter(|k| !k.is_empty()) {
        let auth = match endpoint.auth {
            AuthStyle::Bearer => Some((AUTHORIZATION, format!("Bearer {}", key.expose()))),
            AuthStyle::ApiKeyHeader => {
                Some((HeaderName::from_static("api-key"), key.expose().to_string()))
            }
            AuthStyle::XApiKey => Some((
                HeaderName::from_static("x-api-key"),
                key.expose().to_string(),
            )),
            AuthStyle::GoogApiKeyHeader => Some((
                HeaderName::from_static("x-goog-api-key"),
                key.expose().to_string(),
            )),
            AuthStyle::QueryKey | AuthStyle::None => None,
        };
        if let Some((name, value)) = auth {
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                bad_request(
                    provider,
                    "the API key contains characters that are not allowed in an HTTP header",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
    let mut replaced: Vec<HeaderName> = Vec::new();
    for (name, value) in &endpoint.extra_headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad_request(provider, format!("{name:?} is not a valid header name")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            bad_request(
                provider,
                format!("the value of header {name} is not a valid header value"),
            )
        })?;
        if replaced.contains(&header) {
            headers.append(header, value);
        } else {
            headers.insert(header.clone(), value);
            replaced.push(header);
        }
    }
    Ok(headers)
}

/// `value[key]` as a string, when it is a non-empty one.
pub(crate) fn non_empty_str(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An image's MIME type and base64 data when it is inline: a base64 source, or a
/// `data:<mime>;base64,<data>` URL. `None` for a remote URL.
pub(crate) fn inline_image(source: &ImageSource) -> Option<(String, String)> {
    match source {
        ImageSource::Base64 { media_type, data } => Some((media_type.clone(), data.clone())),
        ImageSource::Url { url } => {
            let rest = url.strip_prefix("data:")?;
            let (meta, data) = rest.split_once(',')?;
            let media_type = meta.strip_suffix(";base64")?;
            Some((media_type.to_string(), data.to_string()))
        }
    }
}

/// A tool call's arguments as a JSON object, as Anthropic, Gemini and Ollama expect
/// them. Arguments kept as text are parsed; anything that is not an object is refused.
pub(crate) fn arguments_object(provider: Provider, call: &ToolCall) -> Result<Value> {
    let value = match &call.arguments {
        Value::Null => return Ok(json!({})),
        Value::String(raw) if raw.trim().is_empty() => return Ok(json!({})),
        Value::String(raw) => serde_json::from_str(raw).unwrap_or(Value::Null),
        other => other.clone(),
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err(Error::new(
            ErrorKind::BadRequest,
            format!(
                "the arguments of tool call `{}` are not a JSON object",
                call.name
            ),
        )
        .with_provider(provider))
    }
}

/// The function name of the tool call `id`, searched in the assistant messages before
/// `messages[before]`, latest first.
pub(crate) fn tool_name_for(messages: &[Message], before: usize, id: &str) -> Option<String> {
    messages
        .get(..before)?
        .iter()
        .rev()
        .flat_map(|m| m.tool_calls.iter())
        .find(|c| c.id.as_deref() == Some(id))
        .map(|c| c.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmvcr_core::Secret;

    #[test]
    fn headers_for_every_auth_style() {
        let key = Secret::new("test-key-123");
        let cases = [
            (
                AuthStyle::Bearer,
                Some(("authorization", "Bearer test-key-123")),
            ),
            (AuthStyle::ApiKeyHeader, Some(("api-key", "test-key-123"))),
            (AuthStyle::XApiKey, Some(("x-api-key", "test-key-123"))),
            (
                AuthStyle::GoogApiKeyHeader,
                Some(("x-goog-api-key", "test-key-123")),
            ),
            (AuthStyle::QueryKey, None),
            (AuthStyle::None, None),
        ];
        for (style, expected) in cases {
            let endpoint = Endpoint::openai()
                .with_auth(style.clone())
                .with_api_key(key.clone());
            let headers = standard_headers(&endpoint).unwrap();
            assert_eq!(headers["content-type"], "application/json");
            let auth_headers = headers.len() - 1;
            match expected {
                Some((name, value)) => {
                    assert_eq!(headers[name], value, "{style:?}");
                    assert!(headers[name].is_sensitive());
                    assert_eq!(auth_headers, 1);
                }
                None => assert_eq!(auth_headers, 0, "{style:?}"),
            }
        }
    }

    #[test]
    fn query_key_and_api_version_go_in_the_url() {
        let endpoint = Endpoint::azure("https://r.openai.azure.com", "dep", "2024-10-21")
            .with_auth(AuthStyle::QueryKey)
            .with_api_key(Secret::new("a b&c"));
        assert_eq!(
            build_url(&endpoint, "/chat/completions"),
            "https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21&key=a+b%26c"
        );
        let anthropic = Endpoint::anthropic();
        assert_eq!(
            build_url(&anthropic, "/x"),
            "https://api.anthropic.com/v1/x"
        );
    }

    #[test]
    fn invalid_headers_are_typed_errors_without_the_value() {
        let endpoint = Endpoint::openai().with_api_key(Secret::new("bad\nkey-secret"));
        let e = standard_headers(&endpoint).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
        assert!(!e.message.contains("key-secret"));
        let e = standard_headers(&Endpoint::openai().with_header("bad name", "v")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
        let e = standard_headers(&Endpoint::openai().with_header("x-ok", "v\u{0}")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
    }

    #[test]
    fn extra_headers_replace_defaults_and_repeat() {
        let endpoint = Endpoint::openai()
            .with_header("content-type", "application/json; charset=utf-8")
            .with_header("x-tag", "a")
            .with_header("x-tag", "b");
        let headers = standard_headers(&endpoint).unwrap();
        assert_eq!(headers["content-type"], "application/json; charset=utf-8");
        assert_eq!(headers.get_all("x-tag").iter().count(), 2);
    }
}
