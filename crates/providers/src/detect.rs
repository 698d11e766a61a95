use llmvcr_core::Provider;

use crate::endpoint::WireApi;

/// The kind of API call, as `llmvcr cassette inspect` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// OpenAI-style `/chat/completions`, and Ollama's native `/api/chat`.
    ChatCompletions,
    /// OpenAI Responses API.
    Responses,
    /// Anthropic Messages.
    Messages,
    /// Gemini `generateContent` / `streamGenerateContent`.
    GenerateContent,
    /// Any embeddings endpoint.
    Embeddings,
    /// Anthropic `count_tokens`, Gemini `countTokens`.
    CountTokens,
    /// Anything else.
    Other,
}

impl Api {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::ChatCompletions => "chat_completions",
            Api::Responses => "responses",
            Api::Messages => "messages",
            Api::GenerateContent => "generate_content",
            Api::Embeddings => "embeddings",
            Api::CountTokens => "count_tokens",
            Api::Other => "other",
        }
    }
}

fn split_url(url: &str) -> (String, String) {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    (host.to_ascii_lowercase(), path.to_string())
}

/// The provider a URL belongs to, by host (and port, for local servers). On any
/// other host (a local server, a proxy, a mock) the path decides: Ollama's native
/// API is [`Provider::Ollama`], an OpenAI API is [`Provider::OpenAiCompatible`],
/// anything else [`Provider::Unknown`].
///
/// ```
/// use llmvcr_core::Provider;
/// use llmvcr_providers::detect_provider;
///
/// assert_eq!(detect_provider("https://api.anthropic.com/v1/messages"), Provider::Anthropic);
/// assert_eq!(detect_provider("https://x.openai.azure.com/openai/v1/responses"), Provider::Azure);
/// assert_eq!(detect_provider("http://localhost:11434/api/chat"), Provider::Ollama);
/// assert_eq!(
///     detect_provider("http://127.0.0.1:1234/v1/chat/completions"),
///     Provider::OpenAiCompatible,
/// );
/// ```
pub fn detect_provider(url: &str) -> Provider {
    let (authority, _) = split_url(url);
    let host = match authority.rfind(':') {
        Some(i) if !authority.ends_with(']') => &authority[..i],
        _ => authority.as_str(),
    };
    let port = authority
        .rfind(':')
        .and_then(|i| authority[i + 1..].parse::<u16>().ok());
    let is = |suffix: &str| host == suffix || host.ends_with(&format!(".{suffix}"));
    if is("openai.com") {
        Provider::OpenAi
    } else if is("openai.azure.com")
        || is("cognitiveservices.azure.com")
        || is("services.ai.azure.com")
    {
        Provider::Azure
    } else if is("anthropic.com") {
        Provider::Anthropic
    } else if is("generativelanguage.googleapis.com") || host.ends_with("aiplatform.googleapis.com")
    {
        Provider::Gemini
    } else if is("openrouter.ai") {
        Provider::OpenRouter
    } else if is("groq.com") {
        Provider::Groq
    } else if is("mistral.ai") {
        Provider::Mistral
    } else if port == Some(11434) || host.contains("ollama") {
        Provider::Ollama
    } else {
        provider_by_path(url)
    }
}

/// The provider of a URL on a host llmvcr does not know, by the API its path calls:
/// Ollama's native `/api/...` endpoints are Ollama, OpenAI's Chat Completions,
/// Responses and embeddings paths an OpenAI-compatible server. Other paths
/// (Anthropic Messages, Gemini) name no provider: the API is still detected.
fn provider_by_path(url: &str) -> Provider {
    let (_, path) = split_url(url);
    let path = path.trim_end_matches('/');
    let ollama_native = [
        "/api/chat",
        "/api/generate",
        "/api/embed",
        "/api/embeddings",
    ];
    if ollama_native.iter().any(|p| path.ends_with(p)) {
        return Provider::Ollama;
    }
    match detect_api(url) {
        Api::ChatCompletions | Api::Responses => Provider::OpenAiCompatible,
        Api::Embeddings if path.ends_with("/embeddings") => Provider::OpenAiCompatible,
        _ => Provider::Unknown,
    }
}

/// The kind of API a URL calls, by path.
///
/// ```
/// use llmvcr_providers::{detect_api, Api};
///
/// assert_eq!(detect_api("https://api.openai.com/v1/chat/completions"), Api::ChatCompletions);
/// assert_eq!(detect_api("https://api.anthropic.com/v1/messages/count_tokens?beta=true"), Api::CountTokens);
/// assert_eq!(
///     detect_api("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
///     Api::GenerateContent,
/// );
/// ```
pub fn detect_api(url: &str) -> Api {
    let (_, path) = split_url(url);
    let path = path.trim_end_matches('/');
    let last = path.rsplit('/').next().unwrap_or("");
    let method = last.rsplit(':').next().unwrap_or("");
    if last.contains(':') {
        return match method {
            "generateContent" | "streamGenerateContent" => Api::GenerateContent,
            "embedContent" | "batchEmbedContents" | "predict" => Api::Embeddings,
            "countTokens" => Api::CountTokens,
            _ => Api::Other,
        };
    }
    if path.ends_with("/chat/completions") || path.ends_with("/api/chat") {
        Api::ChatCompletions
    } else if path.ends_with("/responses") {
        Api::Responses
    } else if path.ends_with("/messages/count_tokens") {
        Api::CountTokens
    } else if path.ends_with("/messages") {
        Api::Messages
    } else if path.ends_with("/embeddings")
        || path.ends_with("/api/embed")
        || path.ends_with("/api/embeddings")
    {
        Api::Embeddings
    } else {
        Api::Other
    }
}

/// The wire API an adapter should use to decode traffic to `url`, or `None` for
/// calls that are not chat calls (embeddings, token counts, ...).
pub fn detect_wire_api(url: &str) -> Option<WireApi> {
    let (_, path) = split_url(url);
    match detect_api(url) {
        Api::ChatCompletions if path.trim_end_matches('/').ends_with("/api/chat") => {
            Some(WireApi::OllamaChat)
        }
        Api::ChatCompletions => Some(WireApi::OpenAiChat),
        Api::Responses => Some(WireApi::OpenAiResponses),
        Api::Messages => Some(WireApi::AnthropicMessages),
        Api::GenerateContent => Some(WireApi::Gemini),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for (url, p) in [
            ("https://api.openai.com/v1/responses", Provider::OpenAi),
            (
                "https://pydantic-ai-realtime-dev.openai.azure.com/openai/v1/responses",
                Provider::Azure,
            ),
            (
                "https://aiplatform.googleapis.com/v1beta1/projects/p/locations/global/publishers/google/models/m:generateContent",
                Provider::Gemini,
            ),
            (
                "https://europe-west4-aiplatform.googleapis.com/v1/x",
                Provider::Gemini,
            ),
            (
                "https://openrouter.ai/api/v1/chat/completions",
                Provider::OpenRouter,
            ),
            (
                "https://api.groq.com/openai/v1/chat/completions",
                Provider::Groq,
            ),
            (
                "https://api.mistral.ai/v1/chat/completions",
                Provider::Mistral,
            ),
            ("http://127.0.0.1:11434/api/chat", Provider::Ollama),
            (
                "http://localhost:8080/v1/chat/completions",
                Provider::OpenAiCompatible,
            ),
            ("https://api.openai.com/v1/embeddings", Provider::OpenAi),
            (
                "https://api.anthropic.com/v1/messages/count_tokens",
                Provider::Anthropic,
            ),
            (
                "https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?alt=sse",
                Provider::Gemini,
            ),
            ("https://ollama.internal/api/chat", Provider::Ollama),
            (
                "http://localhost:11434/v1/chat/completions",
                Provider::Ollama,
            ),
            ("https://evil-openai.com.example.org/v1", Provider::Unknown),
        ] {
            assert_eq!(detect_provider(url), p, "{url}");
        }
    }

    /// Servers on hosts llmvcr does not know: the API comes from the path, and the
    /// provider is named by the API family where it can be.
    #[test]
    fn local_servers_by_path() {
        for (url, provider, api, wire) in [
            (
                "http://127.0.0.1:1234/v1/chat/completions",
                Provider::OpenAiCompatible,
                Api::ChatCompletions,
                Some(WireApi::OpenAiChat),
            ),
            (
                "http://127.0.0.1:40647/v1/chat/completions/",
                Provider::OpenAiCompatible,
                Api::ChatCompletions,
                Some(WireApi::OpenAiChat),
            ),
            (
                "http://localhost:8000/v1/responses?x=1",
                Provider::OpenAiCompatible,
                Api::Responses,
                Some(WireApi::OpenAiResponses),
            ),
            (
                "http://localhost:8000/v1/embeddings",
                Provider::OpenAiCompatible,
                Api::Embeddings,
                None,
            ),
            (
                "http://localhost:11434/api/chat",
                Provider::Ollama,
                Api::ChatCompletions,
                Some(WireApi::OllamaChat),
            ),
            (
                "http://gpu-box:9000/api/chat",
                Provider::Ollama,
                Api::ChatCompletions,
                Some(WireApi::OllamaChat),
            ),
            (
                "http://gpu-box:9000/api/embed",
                Provider::Ollama,
                Api::Embeddings,
                None,
            ),
            (
                "https://llm.internal.example/v1/messages",
                Provider::Unknown,
                Api::Messages,
                Some(WireApi::AnthropicMessages),
            ),
            (
                "https://llm.internal.example/v1/messages/count_tokens",
                Provider::Unknown,
                Api::CountTokens,
                None,
            ),
            (
                "http://[::1]:8080/v1beta/models/gemini-2.5-flash:generateContent",
                Provider::Unknown,
                Api::GenerateContent,
                Some(WireApi::Gemini),
            ),
            (
                "http://127.0.0.1:8080/v1beta/models/m:streamGenerateContent?alt=sse",
                Provider::Unknown,
                Api::GenerateContent,
                Some(WireApi::Gemini),
            ),
            (
                "http://127.0.0.1:8080/v1/models",
                Provider::Unknown,
                Api::Other,
                None,
            ),
        ] {
            assert_eq!(detect_provider(url), provider, "{url}");
            assert_eq!(detect_api(url), api, "{url}");
            assert_eq!(detect_wire_api(url), wire, "{url}");
        }
    }

    #[test]
    fn apis() {
        assert_eq!(
            detect_api("https://openrouter.ai/api/v1/responses"),
            Api::Responses
        );
        assert_eq!(
            detect_api("http://localhost:11434/api/chat"),
            Api::ChatCompletions
        );
        assert_eq!(
            detect_wire_api("http://localhost:11434/api/chat"),
            Some(WireApi::OllamaChat)
        );
        assert_eq!(
            detect_api("https://api.openai.com/v1/embeddings"),
            Api::Embeddings
        );
        assert_eq!(
            detect_api(
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents"
            ),
            Api::Embeddings
        );
        assert_eq!(
            detect_api("https://api.anthropic.com/v1/models"),
            Api::Other
        );
    }
}
