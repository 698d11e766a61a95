//! The crate's one error type.

/// What the fault layer reports: injected failures and invalid plans.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// An injected connection reset. It is returned instead of a response, wrapped in
    /// [`reqwest_middleware::Error::Middleware`]; its source is an
    /// [`std::io::Error`] of kind [`std::io::ErrorKind::ConnectionReset`].
    #[error("connection reset (injected fault) for {method} {url}")]
    ConnectionReset {
        /// The request method.
        method: String,
        /// The request URL.
        url: String,
        /// An I/O error of kind `ConnectionReset`.
        #[source]
        source: std::io::Error,
    },
    /// An injected stream cut: the body fails after `after_frames` frames. It reaches
    /// the reader of the body as the source of a `reqwest::Error`.
    #[error("stream cut after {after_frames} frames (injected fault)")]
    StreamCut {
        /// How many frames were delivered before the cut.
        after_frames: u32,
    },
    /// A rule of a [`FaultPlan`](crate::FaultPlan) cannot be used.
    #[error("invalid fault plan: rules[{rule}].{field}: {message}")]
    InvalidPlan {
        /// The index of the rule.
        rule: usize,
        /// The field at fault, as a dotted path inside the rule.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The injected response could not be built.
    #[error("cannot build the injected response: {0}")]
    Response(#[from] http::Error),
}

/// `Result` with [`FaultError`].
pub type Result<T, E = FaultError> = std::result::Result<T, E>;
