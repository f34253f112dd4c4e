//! The conformance crate's integration tests, one module per subject, linked into one test
//! binary: each binary links every dependency again, which on a two-core CI machine costs
//! more than running the tests. Run one subject with
//! `cargo test -p conformance --test integration <module>::`.

mod common;

mod ci_gate;
mod cli;
mod concurrency;
mod decisions;
mod docs;
mod first_contact;
mod hostile;
mod model;
mod mutation;
mod proxy;
mod reports;
mod safety;
mod snapshots;
mod specificity;
mod staging;
mod tls;
mod trusted;
mod verdicts;
