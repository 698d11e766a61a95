//! Which encoding and which prompt rules a model name implies.

use crate::Encoding;

/// The model's base name: lowercase, without a provider or deployment prefix
/// (`openai/gpt-4o` → `gpt-4o`), and without the `ft:` marker of a fine-tune
/// (`ft:gpt-4o-mini:org::id` → `gpt-4o-mini`).
fn base_name(model: &str) -> String {
    let m = model.trim().to_ascii_lowercase();
    let m = m.strip_prefix("ft:").unwrap_or(&m);
    let m = m.split(':').next().unwrap_or(m);
    m.rsplit('/').next().unwrap_or(m).to_string()
}

/// Whether `name` is `prefix` itself or `prefix` followed by one of `seps`.
fn family(name: &str, prefix: &str, seps: &[char]) -> bool {
    match name.strip_prefix(prefix) {
        Some("") => true,
        Some(rest) => rest.starts_with(seps),
        None => false,
    }
}

/// The OpenAI model families whose prompt accounting differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelFamily {
    /// GPT-4o and GPT-4o mini, with their dated snapshots (`gpt-4o-2024-08-06`) and
    /// `chatgpt-4o-latest`.
    Gpt4o,
    /// GPT-4.1, GPT-4.1 mini and nano, and GPT-4.5.
    Gpt41,
    /// Reasoning models: the o-series (`o1`, `o3`, `o4-mini`...) and GPT-5 (`gpt-5`,
    /// `gpt-5-mini`, `gpt-5.4`...).
    Reasoning,
    /// Search models (`gpt-4o-search-preview`, `gpt-4o-mini-search-preview`), which add
    /// hidden prompt tokens of their own.
    SearchPreview,
    /// GPT-4 and GPT-4 Turbo.
    Gpt4,
    /// GPT-3.5 Turbo.
    Gpt35,
    /// `gpt-oss-20b`, `gpt-oss-120b` (o200k_harmony; ordinary text counts as in
    /// o200k_base).
    GptOss,
    /// Any other name.
    Unknown,
}

impl ModelFamily {
    /// The family of `model`. Provider prefixes, dated snapshots and fine-tune names
    /// are understood: `openai/gpt-4o`, `gpt-4o-2024-08-06` and
    /// `ft:gpt-4o-mini-2024-07-18:org::abc` are all [`ModelFamily::Gpt4o`].
    ///
    /// ```
    /// use llmvcr_tokens::ModelFamily;
    /// assert_eq!(ModelFamily::of("openai/gpt-4o-2024-08-06"), ModelFamily::Gpt4o);
    /// assert_eq!(ModelFamily::of("o3-mini"), ModelFamily::Reasoning);
    /// assert_eq!(ModelFamily::of("gpt-5.4-mini"), ModelFamily::Reasoning);
    /// assert_eq!(ModelFamily::of("gpt-35-turbo"), ModelFamily::Gpt35);
    /// assert_eq!(ModelFamily::of("my-azure-deployment"), ModelFamily::Unknown);
    /// ```
    pub fn of(model: &str) -> ModelFamily {
        let m = base_name(model);
        let m = m.as_str();
        let dash = &['-'][..];
        if m.contains("search-preview") || m.contains("search-api") {
            return ModelFamily::SearchPreview;
        }
        if family(m, "gpt-4o", dash) || family(m, "chatgpt-4o", dash) {
            return ModelFamily::Gpt4o;
        }
        if family(m, "gpt-4.1", dash) || family(m, "gpt-4.5", dash) {
            return ModelFamily::Gpt41;
        }
        if family(m, "gpt-5", &['-', '.'])
            || ["o1", "o3", "o4"].iter().any(|p| family(m, p, dash))
            || family(m, "codex-mini", dash)
        {
            return ModelFamily::Reasoning;
        }
        if family(m, "gpt-oss", dash) {
            return ModelFamily::GptOss;
        }
        if family(m, "gpt-4", dash) {
            return ModelFamily::Gpt4;
        }
        if family(m, "gpt-3.5", dash) || family(m, "gpt-35", dash) {
            return ModelFamily::Gpt35;
        }
        ModelFamily::Unknown
    }

    /// Whether the API adds prompt tokens that the request does not show: the search
    /// models' search instructions, and gpt-oss's harmony system preamble (64 tokens
    /// on every recorded call, through Groq and OpenRouter). Counts for these
    /// families are never exact; `llmvcr tokens check-usage` reports their offset.
    pub fn has_hidden_prompt(self) -> bool {
        matches!(self, ModelFamily::SearchPreview | ModelFamily::GptOss)
    }

    /// The encoding of the family; `None` for [`ModelFamily::Unknown`].
    pub fn encoding(self) -> Option<Encoding> {
        match self {
            ModelFamily::Gpt4 | ModelFamily::Gpt35 => Some(Encoding::Cl100kBase),
            ModelFamily::Unknown => None,
            _ => Some(Encoding::O200kBase),
        }
    }

    /// Tokens to add to the counted prompt so that it equals what the API reports.
    ///
    /// Measured on the real cassettes (see the crate docs):
    /// - reasoning models report exactly one token fewer than the per-message rule
    ///   gives, on every recorded prompt without tools;
    /// - every other family reports the rule's count; search models add hidden
    ///   tokens that depend on the request, so they get no adjustment and are
    ///   reported apart.
    pub fn prompt_adjustment(self) -> i64 {
        match self {
            ModelFamily::Reasoning => -1,
            _ => 0,
        }
    }
}

/// The encoding of a known model, or `None` for a name this crate does not know.
///
/// ```
/// use llmvcr_tokens::{Encoding, known_encoding_for_model};
/// assert_eq!(known_encoding_for_model("gpt-4-0613"), Some(Encoding::Cl100kBase));
/// assert_eq!(known_encoding_for_model("gpt-4.1-mini"), Some(Encoding::O200kBase));
/// assert_eq!(known_encoding_for_model("claude-sonnet-4-5"), None);
/// ```
pub fn known_encoding_for_model(model: &str) -> Option<Encoding> {
    let m = base_name(model);
    if family(&m, "text-embedding-3", &['-']) || m == "text-embedding-ada-002" {
        return Some(Encoding::Cl100kBase);
    }
    ModelFamily::of(&m).encoding()
}

/// The encoding of `model`; unknown names fall back to `o200k_base`, the encoding of
/// every current OpenAI chat model.
///
/// ```
/// use llmvcr_tokens::{Encoding, encoding_for_model};
/// assert_eq!(encoding_for_model("gpt-3.5-turbo"), Encoding::Cl100kBase);
/// assert_eq!(encoding_for_model("gpt-4o-2024-08-06"), Encoding::O200kBase);
/// assert_eq!(encoding_for_model("some-future-model"), Encoding::O200kBase);
/// ```
pub fn encoding_for_model(model: &str) -> Encoding {
    known_encoding_for_model(model).unwrap_or(Encoding::O200kBase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_map_to_encodings() {
        let o200k = [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4o-2024-08-06",
            "GPT-4o",
            "openai/gpt-4o",
            "azure/openai/gpt-4o-mini",
            "ft:gpt-4o-mini-2024-07-18:acme::abc123",
            "chatgpt-4o-latest",
            "gpt-4.1",
            "gpt-4.1-mini-2025-04-14",
            "gpt-4.1-nano",
            "gpt-4.5-preview",
            "gpt-5",
            "gpt-5-mini-2025-08-07",
            "gpt-5.4",
            "gpt-5.6-sol",
            "o1",
            "o1-mini",
            "o1-preview-2024-09-12",
            "o3",
            "o3-mini",
            "o4-mini-2025-04-16",
            "gpt-oss-120b",
            "openai/gpt-oss-20b",
            "gpt-4o-search-preview",
        ];
        for m in o200k {
            assert_eq!(
                known_encoding_for_model(m),
                Some(Encoding::O200kBase),
                "{m}"
            );
        }
        let cl100k = [
            "gpt-4",
            "gpt-4-0613",
            "gpt-4-32k",
            "gpt-4-turbo",
            "gpt-4-turbo-2024-04-09",
            "gpt-4-1106-preview",
            "gpt-3.5-turbo",
            "gpt-3.5-turbo-0125",
            "gpt-35-turbo",
            "openai/gpt-3.5-turbo",
            "text-embedding-3-small",
            "text-embedding-ada-002",
        ];
        for m in cl100k {
            assert_eq!(
                known_encoding_for_model(m),
                Some(Encoding::Cl100kBase),
                "{m}"
            );
        }
        for m in [
            "claude-sonnet-4-5",
            "gemini-2.5-flash",
            "o10",
            "gpt-40",
            "llama3",
            "",
        ] {
            assert_eq!(known_encoding_for_model(m), None, "{m}");
            assert_eq!(encoding_for_model(m), Encoding::O200kBase, "{m}");
        }
    }

    #[test]
    fn families() {
        assert_eq!(
            ModelFamily::of("gpt-4o-mini-search-preview"),
            ModelFamily::SearchPreview
        );
        assert_eq!(
            ModelFamily::of("gpt-4o-mini-2024-07-18"),
            ModelFamily::Gpt4o
        );
        assert_eq!(ModelFamily::of("gpt-4.1-mini"), ModelFamily::Gpt41);
        assert_eq!(ModelFamily::of("o4-mini"), ModelFamily::Reasoning);
        assert_eq!(ModelFamily::of("gpt-5.5"), ModelFamily::Reasoning);
        assert_eq!(ModelFamily::of("gpt-4-turbo"), ModelFamily::Gpt4);
        assert_eq!(ModelFamily::Reasoning.prompt_adjustment(), -1);
        assert_eq!(ModelFamily::Gpt4o.prompt_adjustment(), 0);
    }
}
