//! The data path: accepting, choosing and connecting to a server, and moving
//! bytes (`mode tcp`) or HTTP messages (`mode http`).

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
