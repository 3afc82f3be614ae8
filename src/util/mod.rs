//! Layer 0: small typed values shared by every layer. No `crate::` imports here.

pub mod addr;
pub mod buffer;
pub mod date;
pub mod ids;
pub mod proxy_header;
pub mod random;
pub mod time;
pub mod worker_counts;
