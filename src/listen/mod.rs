//! Listening sockets.

pub mod socket;
