//! Apache httpd's mod_proxy_balancer configurations, read for `fulcrum
//! convert --from apache` (issue 20). What is here so far: httpd's line
//! and section syntax ([`words`]) and the tree of directives it makes,
//! with `Include` followed ([`tree`]), each problem at its `file:line`;
//! the balancers, their members and the `ProxyPass` lines that use them,
//! parsed into types and cross-checked ([`balancers`]); and which
//! directives are read, with the rest reported ([`directives`]).
//! The translation into a haproxy.cfg model is not built yet, so nothing
//! outside this module and its tests reads it.

pub mod access;
pub mod backend;
pub mod balancers;
pub mod cfg;
pub mod convert;
pub mod directives;
pub mod headers;
pub mod passes;
pub mod tree;
pub mod words;
