//! Where log lines go: the syslog sender shared by the access logs
//! (`proxy`) and the server events (`health`).

pub mod syslog;
