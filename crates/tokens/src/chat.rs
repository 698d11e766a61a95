//! Prompt tokens of a whole OpenAI chat request.

use llmvcr_core::{ChatRequest, ContentPart, ResponseFormat, Role};
use serde_json::Value;

use crate::model::ModelFamily;
use crate::{Encoding, encoding_for_model};

/// Tokens that frame every message (`<|start|>{role}<|message|>...<|end|>` less the
/// role itself, which is counted as text).
pub const TOKENS_PER_MESSAGE: usize = 3;
/// Extra tokens for a message that has a `name`.
pub const TOKENS_PER_NAME: usize = 1;
/// Tokens that prime the reply (`<|start|>assistant<|message|>`).
pub const REPLY_PRIMING: usize = 3;

/// The prompt tokens of a request, with how they were obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PromptCount {
    /// The best count of the prompt: `messages + tools + adjustment`, at least 0.
    pub tokens: usize,
    /// Tokens of the messages by the per-message rule, reply priming included.
    pub messages: usize,
    /// Estimated tokens of the tool (function) definitions; 0 without tools.
    pub tools: usize,
    /// The model family's adjustment that was applied (see
    /// [`ModelFamily::prompt_adjustment`]).
    pub adjustment: i64,
    /// Content parts that were not counted: images, audio and files.
    pub uncounted_parts: usize,
    /// Whether the count is expected to equal the reported `prompt_tokens` exactly:
    /// a known model family without hidden prompt tokens (see
    /// [`ModelFamily::has_hidden_prompt`]), no tools or tool calls, no structured
    /// output schema and no uncounted parts.
    pub exact: bool,
    /// The model family the rules were chosen for.
    pub family: ModelFamily,
}

/// A request body that is not an OpenAI chat request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError(String);

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RequestError {}

/// Accumulates the counts.
struct Acc {
    enc: Encoding,
    family: ModelFamily,
    messages: usize,
    tools: usize,
    uncounted: usize,
    inexact: bool,
}

impl Acc {
    fn new(model: &str) -> Acc {
        let family = ModelFamily::of(model);
        Acc {
            enc: encoding_for_model(model),
            family,
            messages: REPLY_PRIMING,
            tools: 0,
            uncounted: 0,
            inexact: family == ModelFamily::Unknown || family.has_hidden_prompt(),
        }
    }

    fn text(&mut self, s: &str) {
        self.messages += self.enc.count(s);
    }

    fn message(&mut self, role: &str) {
        self.messages += TOKENS_PER_MESSAGE;
        self.text(role);
    }

    fn name(&mut self, name: &str) {
        self.text(name);
        self.messages += TOKENS_PER_NAME;
    }

    fn finish(self) -> PromptCount {
        let adjustment = self.family.prompt_adjustment();
        let raw = (self.messages + self.tools) as i64 + adjustment;
        PromptCount {
            tokens: raw.max(0) as usize,
            messages: self.messages,
            tools: self.tools,
            adjustment,
            uncounted_parts: self.uncounted,
            exact: !self.inexact && self.uncounted == 0,
            family: self.family,
        }
    }

    /// One content part in either API's JSON.
    fn json_part(&mut self, part: &Value) {
        match part {
            Value::String(s) => self.text(s),
            Value::Object(o) => {
                let kind = o.get("type").and_then(Value::as_str).unwrap_or("text");
                match (kind, o.get("text")) {
                    ("text" | "input_text" | "output_text", Some(Value::String(t))) => self.text(t),
                    ("refusal", _) => {
                        if let Some(Value::String(t)) = o.get("refusal") {
                            self.text(t);
                        }
                    }
                    _ => self.uncounted += 1,
                }
            }
            _ => {}
        }
    }

    fn json_content(&mut self, content: Option<&Value>) {
        match content {
            Some(Value::Array(parts)) => parts.iter().for_each(|p| self.json_part(p)),
            Some(v) => self.json_part(v),
            None => {}
        }
    }

    /// A tool call: its name and arguments as text. OpenAI documents no rule for the
    /// framing, so the count is an estimate.
    fn tool_call(&mut self, name: &str, arguments: &str) {
        self.inexact = true;
        self.text(name);
        self.text(arguments);
        self.messages += TOKENS_PER_MESSAGE;
    }

    fn tool_defs<'a>(&mut self, defs: impl Iterator<Item = ToolDef<'a>>) {
        let defs: Vec<ToolDef<'a>> = defs.collect();
        if !defs.is_empty() {
            self.inexact = true;
            self.tools += tools_tokens(self.enc, self.family, &defs);
        }
    }
}

/// A function definition, in whichever shape it arrived.
struct ToolDef<'a> {
    name: &'a str,
    description: &'a str,
    parameters: Option<&'a Value>,
}

impl<'a> ToolDef<'a> {
    /// Chat Completions nests the function under `function`; Responses does not.
    fn from_json(tool: &'a Value) -> Option<ToolDef<'a>> {
        let f = tool.get("function").unwrap_or(tool);
        Some(ToolDef {
            name: f.get("name").and_then(Value::as_str)?,
            description: f.get("description").and_then(Value::as_str).unwrap_or(""),
            parameters: f.get("parameters"),
        })
    }
}

/// The empirical rule for function definitions published in OpenAI's cookbook
/// ("How to count tokens with tiktoken", `num_tokens_for_tools`): per function 7
/// tokens (10 for GPT-4 and GPT-3.5) plus `name:description`; per parameter 3 plus
/// `key:type:description`, enum values 3 each plus their text, less 3 per enum; 3
/// once when a function has parameters; 12 once for the whole list. Trailing periods
/// of descriptions are dropped. Nested objects are not looked into.
fn tools_tokens(enc: Encoding, family: ModelFamily, defs: &[ToolDef<'_>]) -> usize {
    let func_init: i64 = match family {
        ModelFamily::Gpt4 | ModelFamily::Gpt35 => 10,
        _ => 7,
    };
    let (prop_init, prop_key, enum_init, enum_item, func_end) = (3i64, 3i64, -3i64, 3i64, 12i64);
    let count = |s: &str| enc.count(s) as i64;
    let mut n = 0i64;
    for d in defs {
        n += func_init;
        let desc = d.description.strip_suffix('.').unwrap_or(d.description);
        n += count(&format!("{}:{desc}", d.name));
        let props = d
            .parameters
            .and_then(|p| p.get("properties"))
            .and_then(Value::as_object);
        if let Some(props) = props.filter(|p| !p.is_empty()) {
            n += prop_init;
            for (key, prop) in props {
                n += prop_key;
                if let Some(items) = prop.get("enum").and_then(Value::as_array) {
                    n += enum_init;
                    for item in items {
                        n += enum_item;
                        n += match item {
                            Value::String(s) => count(s),
                            other => count(&other.to_string()),
                        };
                    }
                }
                let ty = match prop.get("type") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                let pd = prop
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let pd = pd.strip_suffix('.').unwrap_or(pd);
                n += count(&format!("{key}:{ty}:{pd}"));
            }
        }
    }
    n += func_end;
    n.max(0) as usize
}

/// Counts the prompt tokens of a neutral [`ChatRequest`] as an OpenAI chat model
/// would: 3 tokens per message plus its role and text, 1 more for a `name`, 3 to prime
/// the reply; tool definitions by the cookbook rule; then the model family's
/// adjustment. Images are not counted (their cost depends on their pixel size, which
/// the request does not carry); they are reported in
/// [`PromptCount::uncounted_parts`].
///
/// ```
/// use llmvcr_core::ChatRequest;
/// use llmvcr_tokens::count_chat;
///
/// let req = ChatRequest::new("gpt-4o")
///     .system("You are a helpful assistant.")
///     .user("What is the capital of France?");
/// let n = count_chat(&req);
/// assert_eq!(n.tokens, 24); // what the API reported for this request
/// assert!(n.exact);
/// ```
pub fn count_chat(req: &ChatRequest) -> PromptCount {
    let mut acc = Acc::new(&req.model);
    for m in &req.messages {
        let role = match m.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        };
        acc.message(role);
        for part in &m.content {
            match part {
                ContentPart::Text { text } => acc.text(text),
                _ => acc.uncounted += 1,
            }
        }
        if let Some(name) = &m.name {
            acc.name(name);
        }
        for call in &m.tool_calls {
            acc.tool_call(&call.name, &call.arguments_string());
        }
        if let Some(id) = &m.tool_call_id {
            acc.inexact = true;
            acc.text(id);
        }
    }
    acc.tool_defs(req.tools.iter().map(|t| ToolDef {
        name: &t.name,
        description: t.description.as_deref().unwrap_or(""),
        parameters: Some(&t.parameters),
    }));
    if matches!(req.response_format, Some(ResponseFormat::JsonSchema { .. })) {
        acc.inexact = true;
    }
    acc.finish()
}

/// Counts the prompt tokens of an OpenAI request body: Chat Completions (`messages`)
/// or Responses (`input`, `instructions`). The rules are those of [`count_chat`];
/// in a Responses body, `instructions` count as a leading system message and a string
/// `input` as one user message.
///
/// ```
/// use llmvcr_tokens::count_openai_request;
/// use serde_json::json;
///
/// let body = json!({
///     "model": "gpt-4o",
///     "messages": [{"role": "user", "content": "What is the capital of Mexico?"}]
/// });
/// assert_eq!(count_openai_request(&body).unwrap().tokens, 14);
/// ```
pub fn count_openai_request(body: &Value) -> Result<PromptCount, RequestError> {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    let mut acc = Acc::new(model);
    let messages = body.get("messages").and_then(Value::as_array);
    let input = body.get("input");
    if messages.is_none() && input.is_none() {
        return Err(RequestError(
            "not an OpenAI chat request: no `messages` (Chat Completions) or `input` (Responses)"
                .into(),
        ));
    }
    if let Some(Value::String(instr)) = body.get("instructions")
        && !instr.is_empty()
    {
        acc.message("system");
        acc.text(instr);
    }
    let items: Vec<&Value> = match (messages, input) {
        (Some(m), _) => m.iter().collect(),
        (None, Some(Value::Array(items))) => items.iter().collect(),
        (None, Some(v @ Value::String(_))) => {
            acc.message("user");
            acc.json_part(v);
            Vec::new()
        }
        _ => Vec::new(),
    };
    for item in items {
        let Some(obj) = item.as_object() else {
            return Err(RequestError("a message is not a JSON object".into()));
        };
        match obj.get("type").and_then(Value::as_str) {
            None | Some("message") => {}
            Some("function_call") => {
                let name = obj.get("name").and_then(Value::as_str).unwrap_or("");
                let args = obj.get("arguments").and_then(Value::as_str).unwrap_or("");
                acc.tool_call(name, args);
                continue;
            }
            Some(_) => {
                // function_call_output, reasoning, web search results...: their text
                // counts, their framing is unknown.
                acc.inexact = true;
                acc.message("tool");
                for key in ["output", "text"] {
                    if let Some(Value::String(s)) = obj.get(key) {
                        acc.text(s);
                    }
                }
                continue;
            }
        }
        let role = obj.get("role").and_then(Value::as_str).unwrap_or("user");
        acc.message(role);
        acc.json_content(obj.get("content"));
        // A Responses message item also carries bookkeeping (`id`, `status`) that is
        // not prompt text.
        let responses_item = obj.contains_key("type");
        for (key, value) in obj {
            match (key.as_str(), value) {
                ("role" | "content" | "type", _) => {}
                ("id" | "status", _) if responses_item => {}
                ("name", Value::String(n)) => acc.name(n),
                ("tool_calls", Value::Array(calls)) => {
                    for c in calls {
                        let f = c.get("function").unwrap_or(c);
                        let name = f.get("name").and_then(Value::as_str).unwrap_or("");
                        // A JSON string on the wire; a JSON value in llmvcr's own
                        // request format.
                        let args = match f.get("arguments") {
                            Some(Value::String(s)) => s.clone(),
                            Some(v) => v.to_string(),
                            None => String::new(),
                        };
                        acc.tool_call(name, &args);
                    }
                }
                ("tool_call_id", Value::String(s)) => {
                    acc.inexact = true;
                    acc.text(s);
                }
                (_, Value::String(s)) => acc.text(s),
                _ => {}
            }
        }
    }
    if let Some(Value::Array(tools)) = body.get("tools") {
        let defs: Vec<ToolDef<'_>> = tools.iter().filter_map(ToolDef::from_json).collect();
        if defs.len() < tools.len() {
            // Built-in tools (web search, file search...) add prompt text of their own.
            acc.inexact = true;
        }
        acc.tool_defs(defs.into_iter());
    }
    if let Some(Value::Array(functions)) = body.get("functions") {
        acc.tool_defs(functions.iter().filter_map(ToolDef::from_json));
    }
    let schema_format = |v: Option<&Value>| {
        v.and_then(|f| f.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t == "json_schema")
    };
    if schema_format(body.get("response_format"))
        || schema_format(body.get("text").and_then(|t| t.get("format")))
    {
        acc.inexact = true;
    }
    Ok(acc.finish())
}
