//! The reference-server crate's integration tests, one module per subject, linked into one test
//! binary: each binary links every dependency again, which on a two-core CI machine costs
//! more than running the tests. Run one subject with
//! `cargo test -p reference-server --test integration <module>::`.

mod common;

mod api;
mod conditions;
mod durability;
mod faults;
mod hostile_clients;
mod tidy;
