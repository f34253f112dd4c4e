//! Typed client for the User Access Token API.
//!
//! `generated.rs` is written by `cargo xtask regenerate` from `openapi/user-access-tokens.yaml`
//! and is never edited by hand. This file is the hand-written part: it re-exports the
//! generated client and implements progenitor's `ClientHooks` so that a caller can observe
//! every exchange (request and raw response bytes) while the typed call proceeds. The
//! conformance runner relies on this to validate responses the typed layer cannot decode.

// The generated file is formatted by prettyplease; rustfmt must not rewrite it.
#[rustfmt::skip]
mod generated;
mod observer;

pub use generated::*;
pub use observer::{
    Exchange, Observer, RecordedResponse, SendFuture, Transport, TransportError,
    TransportErrorKind, header_pairs, send_recorded,
};
