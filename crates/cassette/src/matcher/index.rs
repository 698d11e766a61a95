//! The index of a cassette: recorded requests by match key.

use std::collections::HashMap;

use super::miss::{MissReason, NoMatch, nearest};
use super::url::NormalUrl;
use super::{IncomingRequest, MatchRules, RequestKey};
use crate::stored::{Interaction, Request};

/// A request in cassette form, given or built on first use.
pub(crate) enum LazyRequest<'r> {
    /// Already built.
    Ready(&'r Request),
    /// Built by `build` the first time it is needed.
    Later {
        cell: std::cell::OnceCell<Request>,
        build: &'r dyn Fn() -> Request,
    },
}

impl<'r> LazyRequest<'r> {
    /// A request built by `build` when first needed.
    pub(crate) fn later(build: &'r dyn Fn() -> Request) -> LazyRequest<'r> {
        LazyRequest::Later {
            cell: std::cell::OnceCell::new(),
            build,
        }
    }

    /// The request.
    pub(crate) fn get(&self) -> &Request {
        match self {
            LazyRequest::Ready(request) => request,
            LazyRequest::Later { cell, build } => cell.get_or_init(*build),
        }
    }
}

/// The interactions with one key, in recorded order: the first, and the
/// others (most keys have one interaction, which needs no allocation).
#[derive(Debug, Clone)]
struct Slot {
    first: usize,
    rest: Vec<usize>,
    /// How many members, from the front, are known to be played.
    cursor: usize,
}

impl Slot {
    fn new(first: usize) -> Slot {
        Slot {
            first,
            rest: Vec::new(),
            cursor: 0,
        }
    }

    fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Member `i`, from 0.
    fn get(&self, i: usize) -> Option<usize> {
        match i.checked_sub(1) {
            None => Some(self.first),
            Some(i) => self.rest.get(i).copied(),
        }
    }

    /// The members, in recorded order.
    fn members(&self) -> impl DoubleEndedIterator<Item = usize> + '_ {
        std::iter::once(self.first).chain(self.rest.iter().copied())
    }
}

/// Recorded requests indexed by [`RequestKey`], with what has been played.
///
/// The index does not own the interactions: pass the same slice (grown only at
/// the end) to every call.
/// The recorded requests of a cassette by match key, and which were played.
///
/// Built once per cassette: each recorded request's key is computed (or
/// taken from the load cache), so a lookup is one canonicalisation of the
/// request and one hash lookup. A request sent byte for byte as recorded, or
/// as already seen, is found by a digest of its bytes without
/// canonicalising it; that shortcut can only find the interaction the full
/// key would.
#[derive(Debug, Clone)]
pub struct Index {
    rules: MatchRules,
    slots: HashMap<RequestKey, Slot>,
    /// Digests of exact request bytes, mapped to their match keys.
    exact: HashMap<RequestKey, RequestKey>,
    played: Vec<bool>,
}

impl Index {
    /// Indexes `interactions` under `rules`.
    pub fn new(rules: MatchRules, interactions: &[Interaction]) -> Index {
        let keys = keys_of(&rules, interactions);
        Index::with_keys(rules, keys)
    }

    /// An index from the keys and exact digests of each interaction, in order.
    pub(crate) fn with_keys(rules: MatchRules, keys: Vec<(RequestKey, RequestKey)>) -> Index {
        let mut index = Index {
            rules,
            slots: HashMap::with_capacity(keys.len()),
            exact: HashMap::with_capacity(keys.len()),
            played: Vec::with_capacity(keys.len()),
        };
        for (key, exact) in keys {
            index.insert(key, exact, false);
        }
        index
    }

    fn insert(&mut self, key: RequestKey, exact: RequestKey, played: bool) -> usize {
        let position = self.played.len();
        self.exact.insert(exact, key);
        self.played.push(played);
        match self.slots.entry(key) {
            std::collections::hash_map::Entry::Occupied(slot) => {
                slot.into_mut().rest.push(position);
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(Slot::new(position));
            }
        }
        position
    }

    /// The rules the index was built with.
    pub fn rules(&self) -> &MatchRules {
        &self.rules
    }

    /// How many interactions are indexed.
    pub fn len(&self) -> usize {
        self.played.len()
    }

    /// Whether no interaction is indexed.
    pub fn is_empty(&self) -> bool {
        self.played.is_empty()
    }

    /// Adds an interaction at the end (as `new_episodes` does), already
    /// played or not; returns its position.
    pub fn push(&mut self, interaction: &Interaction, played: bool) -> usize {
        let (key, exact) = key_pair(&self.rules, &interaction.request, &mut Vec::new());
        self.insert(key, exact, played)
    }

    /// The match key of a request sent with these exact bytes
    /// ([`RequestKey::of_bytes`]), when it was recorded or seen so.
    pub fn key_of_exact(&self, exact: &RequestKey) -> Option<RequestKey> {
        self.exact.get(exact).copied()
    }

    /// Remembers the key of a request's exact bytes, up to a bound.
    pub(crate) fn remember_exact(&mut self, exact: RequestKey, key: RequestKey) {
        const LEARNED: usize = 4096;
        if self.exact.len() < self.played.len() + LEARNED {
            self.exact.insert(exact, key);
        }
    }

    /// Whether some recording has this key.
    pub fn knows(&self, key: &RequestKey) -> bool {
        self.slots.contains_key(key)
    }

    /// Whether the interaction at `index` was played.
    pub fn is_played(&self, index: usize) -> bool {
        self.played.get(index).copied().unwrap_or(false)
    }

    /// Finds the recording that answers `request`, marks it played and
    /// returns its position, or explains the miss.
    ///
    /// # Errors
    ///
    /// [`NoMatch`] when no recording answers, naming `cassette`.
    pub fn find(
        &mut self,
        request: &IncomingRequest,
        interactions: &[Interaction],
        cassette: &str,
    ) -> Result<usize, NoMatch> {
        let key = self.rules.key(request);
        self.find_key(key, &LazyRequest::Ready(request), interactions, cassette)
    }

    /// [`Index::find`] with the key already computed.
    pub(crate) fn find_key(
        &mut self,
        key: RequestKey,
        request: &LazyRequest<'_>,
        interactions: &[Interaction],
        cassette: &str,
    ) -> Result<usize, NoMatch> {
        let reason = match self.slots.get_mut(&key) {
            Some(slot) => match take(slot, &mut self.played, &self.rules, request, interactions) {
                Ok(found) => return Ok(found),
                Err(reason) => reason,
            },
            None if interactions.is_empty() => MissReason::Empty,
            None => {
                MissReason::Different(Box::new(nearest(&self.rules, request.get(), interactions)))
            }
        };
        let request = request.get();
        Err(NoMatch {
            cassette: cassette.to_owned(),
            interactions: interactions.len(),
            method: request.method.clone(),
            url: request.url.clone(),
            reason,
            recording_refused: false,
        })
    }
}

/// The match key and exact digest of every interaction's request, in order.
pub(crate) fn keys_of(
    rules: &MatchRules,
    interactions: &[Interaction],
) -> Vec<(RequestKey, RequestKey)> {
    let mut buf = Vec::with_capacity(1024);
    interactions
        .iter()
        .map(|interaction| key_pair(rules, &interaction.request, &mut buf))
        .collect()
}

fn key_pair(rules: &MatchRules, request: &Request, buf: &mut Vec<u8>) -> (RequestKey, RequestKey) {
    let body = request
        .body
        .as_ref()
        .map(crate::convert::body_text_or_bytes)
        .unwrap_or_default();
    let url = NormalUrl::parse(&request.url, &rules.drop_query_params);
    buf.clear();
    rules.write_parts(&request.method, &url, &body, buf);
    let key = RequestKey::digest(buf);
    let exact = RequestKey::of_bytes(&request.method, &request.url, Some(&body));
    (key, exact)
}

/// Takes the next unplayed member of `slot` that the custom matcher accepts.
fn take(
    slot: &mut Slot,
    played: &mut [bool],
    rules: &MatchRules,
    request: &LazyRequest<'_>,
    interactions: &[Interaction],
) -> Result<usize, MissReason> {
    let accepts = |i: usize| match (&rules.custom, interactions.get(i)) {
        (None, _) => true,
        (Some(custom), Some(interaction)) => custom(request.get(), interaction),
        (Some(_), None) => false,
    };
    while slot.cursor < slot.len()
        && slot
            .get(slot.cursor)
            .and_then(|member| played.get(member))
            .copied()
            .unwrap_or(true)
    {
        slot.cursor += 1;
    }
    let mut refused = false;
    for member in slot.members().skip(slot.cursor) {
        if played.get(member).copied().unwrap_or(true) {
            continue;
        }
        if accepts(member) {
            if let Some(flag) = played.get_mut(member) {
                *flag = true;
            }
            return Ok(member);
        }
        refused = true;
    }
    if rules.allow_repeats
        && let Some(last) = slot.members().rev().find(|&m| accepts(m))
    {
        return Ok(last);
    }
    let any_accepted = slot.members().any(accepts);
    if refused || !any_accepted {
        Err(MissReason::Refused {
            candidates: slot.members().collect(),
        })
    } else {
        Err(MissReason::Exhausted {
            played: slot.members().collect(),
        })
    }
}
