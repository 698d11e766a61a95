use llmvcr_core::{Provider, Secret};

/// The wire APIs llmvcr speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireApi {
    /// OpenAI Chat Completions and its compatibles.
    OpenAiChat,
    /// OpenAI Responses API.
    OpenAiResponses,
    /// Anthropic Messages.
    AnthropicMessages,
    /// Gemini `generateContent` / `streamGenerateContent`.
    Gemini,
    /// Ollama's native `/api/chat`.
    OllamaChat,
}

/// How a request carries its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>` (OpenAI and compatibles).
    Bearer,
    /// `api-key: <key>` (Azure OpenAI).
    ApiKeyHeader,
    /// `x-api-key: <key>` (Anthropic).
    XApiKey,
    /// `x-goog-api-key: <key>` (Gemini).
    GoogApiKeyHeader,
    /// `?key=<key>` in the query (older Gemini clients).
    QueryKey,
    /// No credential (local servers).
    None,
}

/// Where and how to reach a provider.
///
/// `Debug` never shows the credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The provider, which selects error quirks and appears in errors.
    pub provider: Provider,
    /// The wire API.
    pub wire_api: WireApi,
    /// The base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    /// For Azure deployments it is `https://{resource}.openai.azure.com/openai/deployments/{deployment}`.
    pub base_url: String,
    /// How the credential travels.
    pub auth: AuthStyle,
    /// The credential, if any.
    pub api_key: Option<Secret>,
    /// Azure's `api-version` query parameter, or Anthropic's `anthropic-version` header.
    pub api_version: Option<String>,
    /// Extra headers sent with every request (`anthropic-beta`, `HTTP-Referer`, ...).
    pub extra_headers: Vec<(String, String)>,
}

impl Endpoint {
    fn new(provider: Provider, wire_api: WireApi, base_url: &str, auth: AuthStyle) -> Endpoint {
        Endpoint {
            provider,
            wire_api,
            base_url: base_url.trim_end_matches('/').to_string(),
            auth,
            api_key: None,
            api_version: None,
            extra_headers: Vec::new(),
        }
    }

    /// OpenAI Chat Completions at `https://api.openai.com/v1`.
    pub fn openai() -> Endpoint {
        Endpoint::new(
            Provider::OpenAi,
            WireApi::OpenAiChat,
            "https://api.openai.com/v1",
            AuthStyle::Bearer,
        )
    }

    /// OpenAI Responses API at `https://api.openai.com/v1`.
    pub fn openai_responses() -> Endpoint {
        Endpoint {
            wire_api: WireApi::OpenAiResponses,
            ..Endpoint::openai()
        }
    }

    /// Azure OpenAI Chat Completions for a deployment:
    /// `{resource_url}/openai/deployments/{deployment}/chat/completions?api-version=...`.
    pub fn azure(resource_url: &str, deployment: &str, api_version: &str) -> Endpoint {
        let base = format!(
            "{}/openai/deployments/{}",
            resource_url.trim_end_matches('/'),
            deployment
        );
        Endpoint {
            api_version: Some(api_version.to_string()),
            ..Endpoint::new(
                Provider::Azure,
                WireApi::OpenAiChat,
                &base,
                AuthStyle::ApiKeyHeader,
            )
        }
    }

    /// Azure OpenAI's v1 API (`{resource_url}/openai/v1`), where the model is named in
    /// the body and no `api-version` is needed.
    pub fn azure_v1(resource_url: &str, wire_api: WireApi) -> Endpoint {
        let base = format!("{}/openai/v1", resource_url.trim_end_matches('/'));
        Endpoint::new(Provider::Azure, wire_api, &base, AuthStyle::ApiKeyHeader)
    }

    /// Anthropic Messages at `https://api.anthropic.com/v1`, `anthropic-version: 2023-06-01`.
    pub fn anthropic() -> Endpoint {
        Endpoint {
            api_version: Some("2023-06-01".to_string()),
            ..Endpoint::new(
                Provider::Anthropic,
                WireApi::AnthropicMessages,
                "https://api.anthropic.com/v1",
                AuthStyle::XApiKey,
            )
        }
    }

    /// The Gemini API at `https://generativelanguage.googleapis.com/v1beta`.
    pub fn gemini() -> Endpoint {
        Endpoint::new(
            Provider::Gemini,
            WireApi::Gemini,
            "https://generativelanguage.googleapis.com/v1beta",
            AuthStyle::GoogApiKeyHeader,
        )
    }

    /// OpenRouter's OpenAI-compatible Chat Completions.
    pub fn openrouter() -> Endpoint {
        Endpoint::new(
            Provider::OpenRouter,
            WireApi::OpenAiChat,
            "https://openrouter.ai/api/v1",
            AuthStyle::Bearer,
        )
    }

    /// Groq's OpenAI-compatible Chat Completions.
    pub fn groq() -> Endpoint {
        Endpoint::new(
            Provider::Groq,
            WireApi::OpenAiChat,
            "https://api.groq.com/openai/v1",
            AuthStyle::Bearer,
        )
    }

    /// Mistral's Chat Completions.
    pub fn mistral() -> Endpoint {
        Endpoint::new(
            Provider::Mistral,
            WireApi::OpenAiChat,
            "https://api.mistral.ai/v1",
            AuthStyle::Bearer,
        )
    }

    /// Ollama's native `/api/chat` at `http://localhost:11434/api`.
    pub fn ollama() -> Endpoint {
        Endpoint::new(
            Provider::Ollama,
            WireApi::OllamaChat,
            "http://localhost:11434/api",
            AuthStyle::None,
        )
    }

    /// Ollama's OpenAI-compatible route at `http://localhost:11434/v1`.
    pub fn ollama_openai() -> Endpoint {
        Endpoint::new(
            Provider::Ollama,
            WireApi::OpenAiChat,
            "http://localhost:11434/v1",
            AuthStyle::None,
        )
    }

    /// LM Studio's OpenAI-compatible server at `http://localhost:1234/v1`.
    pub fn lmstudio() -> Endpoint {
        Endpoint::new(
            Provider::LmStudio,
            WireApi::OpenAiChat,
            "http://localhost:1234/v1",
            AuthStyle::None,
        )
    }

    /// The default endpoint for a provider, or `None` for providers that need a
    /// resource URL (Azure) or are unknown.
    pub fn for_provider(provider: Provider) -> Option<Endpoint> {
        Some(match provider {
            Provider::OpenAi => Endpoint::openai(),
            Provider::Anthropic => Endpoint::anthropic(),
            Provider::Gemini => Endpoint::gemini(),
            Provider::OpenRouter => Endpoint::openrouter(),
            Provider::Groq => Endpoint::groq(),
            Provider::Mistral => Endpoint::mistral(),
            Provider::Ollama => Endpoint::ollama(),
            Provider::LmStudio => Endpoint::lmstudio(),
            _ => return None,
        })
    }

    /// The environment variable that holds this provider's key by default.
    pub fn env_var(provider: Provider) -> Option<&'static str> {
        Some(match provider {
            Provider::OpenAi => "OPENAI_API_KEY",
            Provider::Azure => "AZURE_OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::Gemini => "GEMINI_API_KEY",
            Provider::OpenRouter => "OPENROUTER_API_KEY",
            Provider::Groq => "GROQ_API_KEY",
            Provider::Mistral => "MISTRAL_API_KEY",
            Provider::LmStudio => "LMSTUDIO_API_KEY",
            _ => return None,
        })
    }

    /// The default endpoint for `provider`, configured from the environment: the key
    /// from the provider's variable (see [`Endpoint::with_key_from_env`]) and the base
    /// URL from `OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`, `GEMINI_BASE_URL`,
    /// `OPENROUTER_BASE_URL`, `GROQ_BASE_URL`, `MISTRAL_BASE_URL`, `OLLAMA_HOST`
    /// (`host:port` or a URL) or `LMSTUDIO_BASE_URL` when set. Azure needs
    /// `AZURE_OPENAI_ENDPOINT` (the resource URL) and uses its v1 API for Chat
    /// Completions. `None` when the provider is unknown or a required variable is unset.
    pub fn from_env(provider: Provider) -> Option<Endpoint> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let endpoint = match provider {
            Provider::Azure => {
                Endpoint::azure_v1(&var("AZURE_OPENAI_ENDPOINT")?, WireApi::OpenAiChat)
            }
            Provider::Ollama => match var("OLLAMA_HOST") {
                Some(host) => {
                    let base = if host.contains("://") {
                        host
                    } else {
                        format!("http://{host}")
                    };
                    Endpoint::ollama().with_base_url(&format!("{}/api", base.trim_end_matches('/')))
                }
                None => Endpoint::ollama(),
            },
            other => {
                let mut e = Endpoint::for_provider(other)?;
                let name = format!("{}_BASE_URL", other.as_str().to_ascii_uppercase());
                if let Some(base) = var(&name) {
                    e = e.with_base_url(&base);
                }
                e
            }
        };
        Some(endpoint.with_key_from_env())
    }

    /// Sets the base URL (a proxy, a mock server, a self-hosted gateway).
    pub fn with_base_url(mut self, base_url: &str) -> Endpoint {
        self.base_url = base_url.trim_end_matches('/').to_string();
        self
    }

    /// Sets the credential.
    pub fn with_api_key(mut self, key: Secret) -> Endpoint {
        self.api_key = Some(key);
        self
    }

    /// Sets the auth style.
    pub fn with_auth(mut self, auth: AuthStyle) -> Endpoint {
        self.auth = auth;
        self
    }

    /// Adds a header sent with every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Endpoint {
        self.extra_headers
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Reads the credential from the provider's default environment variable
    /// (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY` falling back to
    /// `GOOGLE_API_KEY`, ...). Leaves the endpoint unchanged when it is unset.
    pub fn with_key_from_env(mut self) -> Endpoint {
        let mut names: Vec<&str> = Endpoint::env_var(self.provider).into_iter().collect();
        if self.provider == Provider::Gemini {
            names.push("GOOGLE_API_KEY");
        }
        for name in names {
            if let Ok(v) = std::env::var(name)
                && !v.is_empty()
            {
                self.api_key = Some(Secret::new(v));
                break;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let e = Endpoint::openai().with_api_key(Secret::new("sk-test-abcdef"));
        assert!(!format!("{e:?}").contains("sk-test-abcdef"));
    }
}
