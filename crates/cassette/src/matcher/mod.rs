//! Matching requests against recordings, and the index that makes it O(1).
//!
//! A request matches a recorded interaction when their [`RequestKey`]s are equal.
//! The key is built from:
//!
//! - the method, upper case;
//! - the normalised URL: scheme and host lowercase, default port, user info and
//!   fragment dropped, the query parsed, the parameters in
//!   [`MatchRules::drop_query_params`] (credentials such as Gemini's `key=`)
//!   removed, and the rest sorted by name, then value; scheme, host and port
//!   are left out when [`MatchRules::match_origin`] is off;
//! - the canonical body, unless [`MatchRules::match_body`] is off: a JSON body with
//!   its object keys sorted at every level, integral floats written as integers,
//!   and the fields named by [`MatchRules::ignore_pointers`] and by the
//!   [`BodyIgnore`] rules that apply to the URL removed; any other body as its
//!   text or bytes.
//!
//! Headers are not part of the key, so a credential header never decides a match,
//! and neither does the placeholder that replaced it in the recording.
//!
//! [`Index`] computes the key of every recorded request once, and maps each key to
//! the interactions that have it. Looking a request up costs one canonicalisation
//! of that request (linear in its size) and one hash lookup. Identical requests are
//! answered by their recordings in recorded order; once they are all played, a
//! further identical request is a miss, or, with [`MatchRules::allow_repeats`], is
//! answered by the last of them again.
//!
//! A miss is a [`NoMatch`] error that names the cassette and the nearest recorded
//! interaction, and lists where the two requests differ.
//!
//! The code is split by concern: `rules` (what decides a match), `url`
//! (normal URLs), `canonical` (the one canonical body form), `index` (keys
//! to recordings) and `miss` (explaining a miss).

mod canonical;
mod index;
mod miss;
mod rules;
mod url;

pub use index::Index;
pub(crate) use index::{LazyRequest, keys_of};
pub use miss::{Difference, MissReason, Nearest, NoMatch, differences};
pub use rules::{BodyIgnore, CustomMatcher, MatchRules};

use crate::stored::Request;

/// The request being matched, as it would be recorded: in cassette form, with its
/// credentials already replaced by placeholders.
pub type IncomingRequest = Request;

/// The hash of a request's canonical form: what [`Index`] looks requests up by.
///
/// Two requests have the same key exactly when their canonical texts
/// ([`MatchRules::canonical_text`]) are equal, up to a 128-bit hash collision
/// (XXH3-128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestKey(u128);

impl RequestKey {
    /// The digest of a request's exact bytes: the method, the URL as written and
    /// the body bytes. Not a match key: see [`Index::key_of_exact`].
    pub fn of_bytes(method: &str, url: &str, body: Option<&[u8]>) -> RequestKey {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(method.as_bytes());
        hasher.update(b" ");
        hasher.update(url.as_bytes());
        hasher.update(b"\n");
        hasher.update(body.unwrap_or_default());
        RequestKey(hasher.digest128())
    }

    /// The digest of a canonical text.
    pub(crate) fn digest(bytes: &[u8]) -> RequestKey {
        RequestKey(xxhash_rust::xxh3::xxh3_128(bytes))
    }

    /// The key as two words, for the load cache.
    pub(crate) fn to_words(self) -> [u64; 2] {
        #[allow(clippy::cast_possible_truncation)]
        [(self.0 >> 64) as u64, self.0 as u64]
    }

    /// The key from [`RequestKey::to_words`].
    pub(crate) fn from_words(words: [u64; 2]) -> RequestKey {
        RequestKey((u128::from(words[0]) << 64) | u128::from(words[1]))
    }
}
