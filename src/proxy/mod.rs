//! The data path: accepting, choosing and connecting to a server, and moving
//! bytes (`mode tcp`) or HTTP messages (`mode http`).

// No panic on anything a peer sends, by construction: no unwrap, no
// expect, no unchecked indexing (issue 19). The rare exception is an
// #[allow] on the smallest item, under a comment naming the invariant
// that keeps it in bounds; test modules allow all three.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod accept;
pub mod accesslog;
pub mod connect;
pub mod http;
pub mod inspect;
pub mod pool;
pub mod proxyproto;
pub mod splice;
pub mod stream;
pub mod tcp;
