//! A scripted transport: per target, a queue of steps, one per attempt. When a
//! target's queue is empty, attempts succeed with the text `ok from <target>`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use llmvcr_core::{ChatRequest, Error, ErrorKind, StreamEvent, Usage};
use llmvcr_router::{EventStream, Target, Transport};
use tokio::time::Instant;

/// One item of a scripted stream, after a delay.
#[derive(Debug, Clone)]
pub enum Item {
    Event(Duration, StreamEvent),
    Error(Duration, Error),
    /// Never yields again.
    Stall,
}

/// One attempt.
#[derive(Debug, Clone)]
pub enum Step {
    /// `start` fails.
    Fail(Error),
    /// `start` resolves after `connect`, then the items play.
    Stream { connect: Duration, items: Vec<Item> },
}

pub fn fail(kind: ErrorKind) -> Step {
    Step::Fail(Error::new(kind, "scripted"))
}

pub fn fail_after(kind: ErrorKind, retry_after: Duration) -> Step {
    Step::Fail(Error::new(kind, "scripted").with_retry_after(Some(retry_after)))
}

pub fn text(t: &str) -> Step {
    Step::Stream {
        connect: Duration::ZERO,
        items: vec![
            Item::Event(Duration::ZERO, StreamEvent::TextDelta(t.into())),
            Item::Event(
                Duration::ZERO,
                StreamEvent::Usage(Usage {
                    input_tokens: 10,
                    output_tokens: 5,
                    ..Usage::default()
                }),
            ),
        ],
    }
}

/// A stream that sends metadata, then fails before any content.
pub fn cut_before_content(kind: ErrorKind) -> Step {
    Step::Stream {
        connect: Duration::ZERO,
        items: vec![
            Item::Event(
                Duration::ZERO,
                StreamEvent::Start {
                    id: Some("r1".into()),
                    model: None,
                },
            ),
            Item::Error(Duration::from_millis(10), Error::new(kind, "stream cut")),
        ],
    }
}

/// A stream that sends `partial`, then fails.
pub fn cut_after_content(partial: &str, kind: ErrorKind) -> Step {
    Step::Stream {
        connect: Duration::ZERO,
        items: vec![
            Item::Event(Duration::ZERO, StreamEvent::TextDelta(partial.into())),
            Item::Error(Duration::from_millis(10), Error::new(kind, "stream cut")),
        ],
    }
}

#[derive(Debug, Default)]
struct Inner {
    scripts: HashMap<String, VecDeque<Step>>,
    calls: Vec<(String, u32, Instant)>,
}

/// The transport. Clones share the script and the call list.
#[derive(Debug, Clone, Default)]
pub struct Fake(Arc<Mutex<Inner>>);

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }

    /// Appends steps to `target`'s script.
    pub fn on(self, target: &str, steps: impl IntoIterator<Item = Step>) -> Fake {
        self.0
            .lock()
            .unwrap()
            .scripts
            .entry(target.to_string())
            .or_default()
            .extend(steps);
        self
    }

    /// Every `start` call: target, attempt, virtual instant.
    pub fn calls(&self) -> Vec<(String, u32, Instant)> {
        self.0.lock().unwrap().calls.clone()
    }

    /// How many `start` calls `target` received.
    pub fn calls_to(&self, target: &str) -> usize {
        self.calls().iter().filter(|c| c.0 == target).count()
    }
}

fn play(items: Vec<Item>) -> EventStream {
    let stream = futures::stream::unfold(VecDeque::from(items), |mut items| async move {
        match items.pop_front()? {
            Item::Event(d, e) => {
                tokio::time::sleep(d).await;
                Some((Ok(e), items))
            }
            Item::Error(d, e) => {
                tokio::time::sleep(d).await;
                Some((Err(e), items))
            }
            Item::Stall => {
                futures::future::pending::<()>().await;
                None
            }
        }
    });
    Box::pin(stream)
}

impl Transport for Fake {
    fn start<'a>(
        &'a self,
        target: &'a Target,
        attempt: u32,
        _request: &'a ChatRequest,
    ) -> BoxFuture<'a, llmvcr_core::Result<EventStream>> {
        let step = {
            let mut inner = self.0.lock().unwrap();
            inner
                .calls
                .push((target.name.clone(), attempt, Instant::now()));
            inner
                .scripts
                .get_mut(&target.name)
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(|| text(&format!("ok from {}", target.name)))
        };
        async move {
            match step {
                Step::Fail(e) => Err(e),
                Step::Stream { connect, items } => {
                    tokio::time::sleep(connect).await;
                    Ok(play(items))
                }
            }
        }
        .boxed()
    }
}
