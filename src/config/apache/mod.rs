//! Apache httpd's mod_proxy_balancer configurations, converted by
//! `fulcrum convert --from apache` (issue 20): httpd's line and section
//! syntax ([`words`]) and its tree of directives with `Include` followed
//! ([`tree`]); the balancers and members ([`balancers`]) and the
//! `ProxyPass` order ([`passes`]), parsed into types; which directives
//! are read, with the rest reported ([`directives`]); and the
//! translation: the frontend ([`convert`]), `<Location>` access rules
//! ([`access`]), a backend per balancer ([`backend`]), header and
//! reverse-mapping rules ([`headers`]), mod_rewrite's simple rules
//! ([`rewrite`]), name-based virtual hosts ([`vhosts`]), mod_ssl's
//! certificates ([`tls`]), written as commented haproxy.cfg
//! text ([`cfg`]).

pub mod access;
pub mod backend;
pub mod balancers;
pub mod cfg;
pub mod convert;
pub mod defines;
pub mod directives;
pub mod headers;
pub mod passes;
pub mod rewrite;
pub mod rewrite_cond;
pub mod tls;
pub mod tree;
pub mod vhosts;
pub mod words;
