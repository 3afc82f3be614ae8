//! Sample fetches: where a rule's value comes from. Each is parsed once,
//! with its arguments checked and names resolved to indices, and read over
//! [`Facts`] without allocating unless the value must be built.

use std::borrow::Cow;
use std::net::IpAddr;

use super::facts::Facts;
use super::http::View;
use super::sample::{Type, Value};

/// Which message a header or cookie fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The request.
    Req,
    /// The response.
    Res,
}

/// Which TLS fact a text `ssl_fc_*` fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsText {
    /// The server name asked for.
    Sni,
    /// The protocol version.
    Protocol,
    /// The cipher suite.
    Cipher,
}

/// A sample fetch with its arguments resolved.
#[derive(Debug, Clone)]
pub enum Fetch {
    /// `src`
    Src,
    /// `src_port`
    SrcPort,
    /// `dst`
    Dst,
    /// `dst_port`
    DstPort,
    /// `fe_name`
    FeName,
    /// `be_name`
    BeName,
    /// `srv_name`
    SrvName,
    /// `srv_id`: the server's number in its backend (from 1).
    SrvId,
    /// `nbsrv([backend])`; None: the current backend.
    Nbsrv(Option<usize>),
    /// `srv_is_up([backend/]server)`
    SrvIsUp(usize, usize),
    /// `method`
    Method,
    /// `path`
    Path,
    /// `pathq`: the path with its query string.
    Pathq,
    /// `url`
    Url,
    /// `query`
    Query,
    /// `base`: Host followed by the path.
    Base,
    /// `url_param(NAME[,DELIM])` / `urlp`
    UrlParam(Box<[u8]>, u8),
    /// `hdr(NAME[,OCC])`, `fhdr`, `res.hdr`, ...: `full` keeps commas.
    Hdr {
        /// Request or response.
        side: Side,
        /// Field name.
        name: Box<[u8]>,
        /// Which occurrence (1 first, -1 last); None: the last as a sample,
        /// every one in an ACL.
        occ: Option<i64>,
        /// Whole lines, as `fhdr`.
        full: bool,
    },
    /// `hdr_cnt(NAME)`: how many values; with `true`, `fhdr_cnt`: how many
    /// lines.
    HdrCnt(Side, Option<Box<[u8]>>, bool),
    /// `hdr_ip(NAME[,OCC])`
    HdrIp(Side, Box<[u8]>, Option<i64>),
    /// `hdr_val(NAME[,OCC])`
    HdrVal(Side, Box<[u8]>, Option<i64>),
    /// `cook(NAME)` / `req.cook` / `res.cook` (`scook`).
    Cook(Side, Box<[u8]>),
    /// `cook_cnt(NAME)`
    CookCnt(Side, Box<[u8]>),
    /// `cook_val(NAME)`
    CookVal(Side, Box<[u8]>),
    /// `req.body_len`: the Content-Length of the request.
    ReqBodyLen,
    /// `req.ver` / `res.ver`: "1.1".
    Ver(Side),
    /// `status`
    Status,
    /// `var(NAME)`
    Var(Box<str>),
    /// `always_true`, `always_false`, `bool(V)`.
    Bool(bool),
    /// `int(V)`
    Int(i64),
    /// `str(V)`
    Str(Box<[u8]>),
    /// `env(NAME)`, read when the configuration is loaded.
    Env(Option<Box<[u8]>>),
    /// `date([OFFSET])`: seconds since the epoch.
    Date(i64),
    /// `uuid([4])`: a random version-4 UUID, new at each read.
    Uuid,
    /// `ssl_fc`: the client connection is TLS that fulcrum terminated.
    SslFc,
    /// `ssl_fc_sni`, `ssl_fc_protocol`, `ssl_fc_cipher`.
    SslFcText(TlsText),
    /// `ssl_c_used`: the client sent a certificate.
    SslCUsed,
    /// `ssl_fc_is_resumed`: the TLS session was resumed.
    SslFcIsResumed,
    /// `fc_err`: the client connection's error code (0: none; a
    /// connection that failed never reaches a rule or a log line).
    FcErr,
    /// `fc_pp_authority`, `fc_pp_unique_id`: a TLV of the client's PROXY
    /// v2 header (its type).
    FcPpTlv(u8),
    /// `unique-id`: the request's ID from `unique-id-format`.
    UniqueId,
    /// `http_first_req`: the request is its connection's first.
    HttpFirstReq,
    /// `ssl_fc_err`, `ssl_c_err`, `ssl_c_ca_err`: TLS error codes, 0 on a
    /// TLS connection (a handshake that failed ends it), absent on a
    /// plain one.
    SslErr,
    /// `ssl_c_verify`: the client certificate's verification result (0:
    /// verified; a certificate that fails ends the handshake).
    SslCVerify,
    /// `ssl_c_s_dn`: the client certificate's subject.
    SslCSDn,
    /// `req.proto_http`
    ProtoHttp,
    /// `req.len`: bytes of the request received so far.
    ReqLen,
    /// `req.payload(OFFSET,LENGTH)`
    ReqPayload(usize, usize),
    /// `req.ssl_sni` / `req_ssl_sni`: the server name of a TLS ClientHello.
    ReqSslSni,
    /// `req.ssl_alpn`: each protocol the ClientHello's ALPN offers.
    ReqSslAlpn,
    /// `req.ssl_hello_type` / `req_ssl_hello_type`: 1 for a ClientHello.
    ReqSslHelloType,
    /// `wait_end`: true once the inspection delay is over.
    WaitEnd,
    /// `http_auth(USERLIST)`: the Authorization header names a user of the list.
    HttpAuth(usize),
    /// `http_auth_group(USERLIST)`: the groups of that user.
    HttpAuthGroup(usize),
    /// `sc_COUNTER(N[,TABLE])` / `scN_COUNTER([TABLE])`: a counter of the
    /// entry tracked in slot N (read in TABLE when given).
    Sc(u8, Option<usize>, crate::state::stick::Counter),
    /// `src_COUNTER([TABLE])`: a counter of the client address's entry.
    SrcTable(usize, crate::state::stick::Counter),
    /// `table_cnt([TABLE])`: entries in the table.
    TableCnt(usize),
}

/// The arguments of fetch `name` when it has `MIN` to `max` of them: the
/// `MIN` it requires, then the optional ones.
fn arg_count<'a, const MIN: usize>(
    name: &str,
    args: &'a [String],
    max: usize,
) -> Result<(&'a [String; MIN], &'a [String]), String> {
    let Some((required, optional)) = args.split_first_chunk::<MIN>() else {
        return Err(format!(
            "fetch method '{name}' expects {} argument{}",
            if MIN == max {
                format!("{MIN}")
            } else {
                format!("at least {MIN}")
            },
            if MIN == 1 { "" } else { "s" }
        ));
    };
    if args.len() > max {
        return Err(format!(
            "fetch method '{name}' takes at most {max} argument{}, got {}",
            if max == 1 { "" } else { "s" },
            args.len()
        ));
    }
    Ok((required, optional))
}

fn occurrence(name: &str, a: Option<&String>) -> Result<Option<i64>, String> {
    a.map(|s| {
        s.parse::<i64>().map_err(|_| {
            format!("fetch method '{name}': invalid occurrence '{s}' (expected an integer)")
        })
    })
    .transpose()
}

fn bytes(s: &str) -> Box<[u8]> {
    s.as_bytes().into()
}

impl Fetch {
    /// The names this module knows, for "did you mean" and the suffix forms.
    pub const NAMES: &'static [&'static str] = &[
        "src",
        "src_port",
        "dst",
        "dst_port",
        "fe_name",
        "be_name",
        "srv_name",
        "srv_id",
        "nbsrv",
        "srv_is_up",
        "method",
        "path",
        "pathq",
        "url",
        "query",
        "base",
        "url_param",
        "urlp",
        "hdr",
        "req.hdr",
        "fhdr",
        "req.fhdr",
        "res.hdr",
        "shdr",
        "res.fhdr",
        "hdr_cnt",
        "req.hdr_cnt",
        "res.hdr_cnt",
        "shdr_cnt",
        "fhdr_cnt",
        "req.fhdr_cnt",
        "res.fhdr_cnt",
        "hdr_ip",
        "req.hdr_ip",
        "res.hdr_ip",
        "hdr_val",
        "req.hdr_val",
        "res.hdr_val",
        "cook",
        "req.cook",
        "res.cook",
        "scook",
        "cook_cnt",
        "req.cook_cnt",
        "cook_val",
        "req.cook_val",
        "req.body_len",
        "req.ver",
        "req_ver",
        "res.ver",
        "status",
        "var",
        "always_true",
        "always_false",
        "bool",
        "int",
        "str",
        "env",
        "date",
        "hostname",
        "uuid",
        "ssl_fc",
        "ssl_fc_sni",
        "ssl_fc_protocol",
        "ssl_fc_cipher",
        "ssl_c_used",
        "ssl_fc_is_resumed",
        "fc_err",
        "fc_pp_authority",
        "fc_pp_unique_id",
        "unique-id",
        "http_first_req",
        "ssl_fc_err",
        "ssl_c_err",
        "ssl_c_ca_err",
        "ssl_c_verify",
        "ssl_c_s_dn",
        "req.proto_http",
        "req.len",
        "req_len",
        "req.payload",
        "req.ssl_sni",
        "req.ssl_alpn",
        "http_auth",
        "http_auth_group",
    ];

    /// Parses a fetch by name with its arguments.
    pub fn parse(name: &str, args: &[String], ctx: &super::Context) -> Result<Fetch, String> {
        use Fetch as F;
        // Up to `max` arguments, all optional.
        let at_most = |max| arg_count::<0>(name, args, max).map(|_| ());
        let side = if name.starts_with("res.") || matches!(name, "shdr" | "shdr_cnt" | "scook") {
            Side::Res
        } else {
            Side::Req
        };
        Ok(match name {
            "src" => at_most(0).map(|_| F::Src)?,
            "src_port" => at_most(0).map(|_| F::SrcPort)?,
            "dst" => at_most(0).map(|_| F::Dst)?,
            "dst_port" => at_most(0).map(|_| F::DstPort)?,
            "fe_name" => at_most(0).map(|_| F::FeName)?,
            "be_name" => at_most(0).map(|_| F::BeName)?,
            "srv_name" => at_most(0).map(|_| F::SrvName)?,
            "srv_id" => at_most(0).map(|_| F::SrvId)?,
            "nbsrv" => {
                at_most(1)?;
                match args.first() {
                    None => F::Nbsrv(None),
                    Some(b) => {
                        F::Nbsrv(Some(ctx.backend(b).ok_or_else(|| {
                            format!("fetch method 'nbsrv': no such backend '{b}'")
                        })?))
                    }
                }
            }
            "srv_is_up" => {
                let ([server], _) = arg_count::<1>(name, args, 1)?;
                let (b, s) = match server.split_once('/') {
                    Some((b, s)) => (b, s),
                    None => (ctx.proxy, server.as_str()),
                };
                let (bi, si) = ctx
                    .server(b, s)
                    .ok_or_else(|| format!("fetch method 'srv_is_up': no such server '{b}/{s}'"))?;
                F::SrvIsUp(bi, si)
            }
            "method" => at_most(0).map(|_| F::Method)?,
            "path" => at_most(0).map(|_| F::Path)?,
            "pathq" => at_most(0).map(|_| F::Pathq)?,
            "url" => at_most(0).map(|_| F::Url)?,
            "query" => at_most(0).map(|_| F::Query)?,
            "base" => at_most(0).map(|_| F::Base)?,
            "url_param" | "urlp" => {
                let ([param], delim) = arg_count::<1>(name, args, 2)?;
                let delim = match delim.first().map(|d| d.as_bytes()) {
                    None => b'&',
                    Some([d]) => *d,
                    Some(_) => {
                        return Err(format!(
                            "fetch method '{name}': the delimiter must be one character"
                        ))
                    }
                };
                F::UrlParam(bytes(param), delim)
            }
            "hdr" | "req.hdr" | "res.hdr" | "shdr" | "fhdr" | "req.fhdr" | "res.fhdr" => {
                at_most(2)?;
                let full = name.contains("fhdr");
                match args.first() {
                    Some(h) => F::Hdr {
                        side,
                        name: bytes(h),
                        occ: occurrence(name, args.get(1))?,
                        full,
                    },
                    None => {
                        return Err(format!(
                            "fetch method '{name}' without a header name is not supported; name the header"
                        ))
                    }
                }
            }
            "hdr_cnt" | "req.hdr_cnt" | "res.hdr_cnt" | "shdr_cnt" => {
                at_most(1)?;
                F::HdrCnt(side, args.first().map(|h| bytes(h)), false)
            }
            "fhdr_cnt" | "req.fhdr_cnt" | "res.fhdr_cnt" => {
                at_most(1)?;
                F::HdrCnt(side, args.first().map(|h| bytes(h)), true)
            }
            "hdr_ip" | "req.hdr_ip" | "res.hdr_ip" => {
                let ([h], occ) = arg_count::<1>(name, args, 2)?;
                F::HdrIp(side, bytes(h), occurrence(name, occ.first())?)
            }
            "hdr_val" | "req.hdr_val" | "res.hdr_val" => {
                let ([h], occ) = arg_count::<1>(name, args, 2)?;
                F::HdrVal(side, bytes(h), occurrence(name, occ.first())?)
            }
            "cook" | "req.cook" | "res.cook" | "scook" => {
                let ([c], _) = arg_count::<1>(name, args, 1)?;
                F::Cook(side, bytes(c))
            }
            // Without a name, every cookie counts.
            "cook_cnt" | "req.cook_cnt" => at_most(1)
                .map(|_| F::CookCnt(side, args.first().map(|a| bytes(a)).unwrap_or_default()))?,
            "cook_val" | "req.cook_val" => {
                arg_count::<1>(name, args, 1).map(|([c], _)| F::CookVal(side, bytes(c)))?
            }
            "req.body_len" => at_most(0).map(|_| F::ReqBodyLen)?,
            "req.ver" | "req_ver" => at_most(0).map(|_| F::Ver(Side::Req))?,
            "res.ver" => at_most(0).map(|_| F::Ver(Side::Res))?,
            "status" => at_most(0).map(|_| F::Status)?,
            "var" => {
                let ([var], _) = arg_count::<1>(name, args, 1)?;
                super::action::check_var_name(var)?;
                F::Var(var.as_str().into())
            }
            "always_true" => at_most(0).map(|_| F::Bool(true))?,
            "always_false" => at_most(0).map(|_| F::Bool(false))?,
            "bool" => {
                let ([b], _) = arg_count::<1>(name, args, 1)?;
                F::Bool(super::sample::parse_leading_int(b.as_bytes()).is_some_and(|v| v != 0))
            }
            "int" => {
                let ([i], _) = arg_count::<1>(name, args, 1)?;
                F::Int(
                    i.parse()
                        .map_err(|_| format!("fetch method 'int': '{i}' is not an integer"))?,
                )
            }
            "str" => arg_count::<1>(name, args, 1).map(|([s], _)| F::Str(bytes(s)))?,
            "env" => {
                let ([var], _) = arg_count::<1>(name, args, 1)?;
                F::Env(std::env::var(var).ok().map(|v| bytes(&v)))
            }
            // The machine's name, as `log-send-hostname` sends it; read
            // when the configuration is, as HAProxy reads it at start.
            "hostname" => {
                at_most(0)?;
                F::Str(bytes(&super::logline::hostname()))
            }
            "uuid" => {
                at_most(1)?;
                if let Some(v) = args.first().filter(|v| *v != "4") {
                    return Err(format!(
                        "fetch method 'uuid': unsupported UUID version '{v}' (only 4)"
                    ));
                }
                F::Uuid
            }
            "date" => {
                at_most(1)?;
                F::Date(match args.first() {
                    Some(o) => o
                        .parse()
                        .map_err(|_| format!("fetch method 'date': invalid offset '{o}'"))?,
                    None => 0,
                })
            }
            "ssl_fc" => at_most(0).map(|_| F::SslFc)?,
            "ssl_fc_sni" => at_most(0).map(|_| F::SslFcText(TlsText::Sni))?,
            "ssl_fc_protocol" => at_most(0).map(|_| F::SslFcText(TlsText::Protocol))?,
            "ssl_fc_cipher" => at_most(0).map(|_| F::SslFcText(TlsText::Cipher))?,
            "ssl_c_used" => at_most(0).map(|_| F::SslCUsed)?,
            "ssl_fc_is_resumed" => at_most(0).map(|_| F::SslFcIsResumed)?,
            "fc_err" => at_most(0).map(|_| F::FcErr)?,
            "fc_pp_authority" => {
                at_most(0).map(|_| F::FcPpTlv(crate::util::proxy_header::tlv::AUTHORITY))?
            }
            "fc_pp_unique_id" => {
                at_most(0).map(|_| F::FcPpTlv(crate::util::proxy_header::tlv::UNIQUE_ID))?
            }
            "unique-id" => at_most(0).map(|_| F::UniqueId)?,
            "http_first_req" => at_most(0).map(|_| F::HttpFirstReq)?,
            "ssl_fc_err" | "ssl_c_err" | "ssl_c_ca_err" => at_most(0).map(|_| F::SslErr)?,
            "ssl_c_verify" => at_most(0).map(|_| F::SslCVerify)?,
            "ssl_c_s_dn" => at_most(0).map(|_| F::SslCSDn)?,
            "req.proto_http" => at_most(0).map(|_| F::ProtoHttp)?,
            "req.len" | "req_len" => at_most(0).map(|_| F::ReqLen)?,
            "req.payload" => {
                let ([offset, length], _) = arg_count::<2>(name, args, 2)?;
                let num = |s: &String| {
                    s.parse::<usize>()
                        .map_err(|_| format!("fetch method 'req.payload': invalid number '{s}'"))
                };
                F::ReqPayload(num(offset)?, num(length)?)
            }
            "req.ssl_sni" | "req_ssl_sni" => at_most(0).map(|_| F::ReqSslSni)?,
            "req.ssl_alpn" => at_most(0).map(|_| F::ReqSslAlpn)?,
            "req.ssl_hello_type" | "req_ssl_hello_type" => {
                at_most(0).map(|_| F::ReqSslHelloType)?
            }
            "wait_end" => at_most(0).map(|_| F::WaitEnd)?,
            "http_auth" | "http_auth_group" => {
                let ([list], _) = arg_count::<1>(name, args, 1)?;
                let list = ctx
                    .userlist(list)
                    .ok_or_else(|| format!("fetch method '{name}': no such userlist '{list}'"))?;
                if name == "http_auth" {
                    F::HttpAuth(list)
                } else {
                    F::HttpAuthGroup(list)
                }
            }
            _ if super::stick::parse_fetch(name, args, ctx).is_some() => {
                super::stick::parse_fetch(name, args, ctx).unwrap_or_else(|| Err(String::new()))?
            }
            _ => {
                let hint = crate::config::keywords::suggest(name, Self::NAMES.iter().copied())
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                return Err(format!("unknown fetch method '{name}'{hint}"));
            }
        })
    }

    /// The type of the sample.
    pub fn output(&self) -> Type {
        use Fetch as F;
        match self {
            F::Src | F::Dst | F::HdrIp(..) => Type::Ip,
            F::SrcPort
            | F::DstPort
            | F::Nbsrv(_)
            | F::HdrCnt(..)
            | F::HdrVal(..)
            | F::CookCnt(..)
            | F::CookVal(..)
            | F::ReqBodyLen
            | F::Status
            | F::Int(_)
            | F::Date(_)
            | F::ReqLen
            | F::ReqSslHelloType
            | F::Sc(..)
            | F::SrcTable(..)
            | F::TableCnt(_)
            | F::FcErr
            | F::SslErr => Type::Int,
            F::SrvIsUp(..)
            | F::Bool(_)
            | F::SslFc
            | F::SslCUsed
            | F::SslFcIsResumed
            | F::HttpFirstReq
            | F::ProtoHttp
            | F::HttpAuth(_)
            | F::WaitEnd => Type::Bool,
            F::ReqPayload(..) => Type::Bin,
            _ => Type::Str,
        }
    }

    /// Whether the value may still change as more of the request arrives
    /// (HAProxy's SMP_F_MAY_CHANGE): `req.len` before the input is final.
    pub fn may_change(&self, f: &Facts) -> bool {
        matches!(self, Fetch::ReqLen) && !f.payload_final
    }

    /// Whether the fetch reads an HTTP message (refused in `mode tcp`).
    pub fn needs_http(&self) -> bool {
        use Fetch as F;
        matches!(
            self,
            F::Method
                | F::Path
                | F::Pathq
                | F::Url
                | F::Query
                | F::Base
                | F::UrlParam(..)
                | F::Hdr { .. }
                | F::HdrCnt(..)
                | F::HdrIp(..)
                | F::HdrVal(..)
                | F::Cook(..)
                | F::CookCnt(..)
                | F::CookVal(..)
                | F::ReqBodyLen
                | F::Ver(_)
                | F::Status
                | F::HttpAuth(_)
                | F::HttpAuthGroup(_)
        )
    }

    /// Whether the fetch reads the connection's first bytes (content
    /// inspection), which `tcp-request connection` rules cannot see.
    pub fn needs_payload(&self) -> bool {
        matches!(
            self,
            Fetch::ReqLen
                | Fetch::ReqPayload(..)
                | Fetch::ReqSslSni
                | Fetch::ReqSslAlpn
                | Fetch::ReqSslHelloType
                | Fetch::WaitEnd
        )
    }

    /// Whether the fetch reads the response (only valid in response rules).
    pub fn needs_response(&self) -> bool {
        use Fetch as F;
        match self {
            F::Status | F::Ver(Side::Res) => true,
            F::Hdr { side, .. } => *side == Side::Res,
            F::HdrCnt(s, ..)
            | F::HdrIp(s, ..)
            | F::HdrVal(s, ..)
            | F::Cook(s, _)
            | F::CookCnt(s, _)
            | F::CookVal(s, _) => *s == Side::Res,
            _ => false,
        }
    }

    /// The single value of the fetch, as a sample expression reads it.
    pub fn fetch<'a>(&self, f: &Facts<'a>) -> Option<Value<'a>> {
        use Fetch as F;
        let view = |s: Side| match s {
            Side::Req => f.req,
            Side::Res => f.res,
        };
        let text = |b: &'a [u8]| Some(Value::Str(Cow::Borrowed(b)));
        match self {
            F::Src => Some(Value::Ip(f.src.ip())),
            F::SrcPort => Some(Value::Int(i64::from(f.src.port()))),
            F::Dst => Some(Value::Ip(f.dst.ip())),
            F::DstPort => Some(Value::Int(i64::from(f.dst.port()))),
            F::FeName => text(f.frontend.as_bytes()),
            F::BeName => f
                .backend
                .map(|b| Value::Str(Cow::Owned(f.world.backend_name(b).as_bytes().to_vec()))),
            F::SrvId => f.server.map(|s| Value::Int(s as i64 + 1)),
            F::SrvName => match (f.backend, f.server) {
                (Some(b), Some(s)) => Some(Value::Str(Cow::Owned(
                    f.world.server_name(b, s).as_bytes().to_vec(),
                ))),
                _ => None,
            },
            F::Nbsrv(b) => b
                .or(f.backend)
                .map(|b| Value::Int(i64::from(f.world.nbsrv(b)))),
            F::SrvIsUp(b, s) => Some(Value::Bool(f.world.srv_is_up(*b, *s))),
            F::Method => text(f.req?.method()),
            F::Path => text(f.req?.path()),
            F::Pathq => text(f.req?.pathq()),
            F::Url => text(f.req?.target()),
            F::Query => text(f.req?.query()?),
            F::Base => {
                let r = f.req?;
                let host = r.values(b"host").last().unwrap_or_default();
                let mut v = host.to_vec();
                v.extend_from_slice(r.path());
                Some(Value::Str(Cow::Owned(v)))
            }
            F::UrlParam(name, delim) => text(url_param(f.req?, name, *delim)?),
            F::Hdr {
                side,
                name,
                occ,
                full,
            } => {
                let v = view(*side)?;
                let pick = occ.unwrap_or(-1);
                if *full {
                    nth(v.lines(name), pick).and_then(text)
                } else {
                    nth(v.values(name), pick).and_then(text)
                }
            }
            F::HdrCnt(side, name, full) => {
                let v = view(*side)?;
                let n = match name {
                    Some(name) if *full => v.lines(name).count(),
                    Some(name) => v.values(name).count(),
                    None => v.head.fields.len(),
                };
                Some(Value::Int(n as i64))
            }
            F::HdrIp(side, name, occ) => nth(view(*side)?.values(name), occ.unwrap_or(-1))
                .and_then(|b| std::str::from_utf8(b).ok()?.parse::<IpAddr>().ok())
                .map(Value::Ip),
            // As strtol: a value without leading digits reads as 0.
            F::HdrVal(side, name, occ) => nth(view(*side)?.values(name), occ.unwrap_or(-1))
                .map(|v| Value::Int(super::sample::parse_leading_int(v).unwrap_or(0))),
            F::Cook(side, name) => cookies(view(*side)?, *side)
                .find(|(n, _)| *n == &name[..])
                .and_then(|(_, v)| text(v)),
            F::CookCnt(side, name) => Some(Value::Int(
                cookies(view(*side)?, *side)
                    .filter(|(n, _)| name.is_empty() || *n == &name[..])
                    .count() as i64,
            )),
            F::CookVal(side, name) => cookies(view(*side)?, *side)
                .find(|(n, _)| *n == &name[..])
                .map(|(_, v)| Value::Int(super::sample::parse_leading_int(v).unwrap_or(0))),
            F::ReqBodyLen => f.req_body_len.map(|n| Value::Int(n as i64)),
            F::Ver(side) => {
                let v = view(*side)?;
                Some(Value::Str(Cow::Borrowed(if v.head.minor == 0 {
                    b"1.0"
                } else {
                    b"1.1"
                })))
            }
            F::Status => {
                let r = f.res?;
                super::sample::parse_leading_int(r.head.first.of(r.buf)).map(Value::Int)
            }
            F::Var(name) => f.vars.get(name).cloned(),
            F::Bool(b) => Some(Value::Bool(*b)),
            F::Int(i) => Some(Value::Int(*i)),
            F::Str(s) => Some(Value::Str(Cow::Owned(s.to_vec()))),
            F::Env(v) => v.as_ref().map(|v| Value::Str(Cow::Owned(v.to_vec()))),
            F::Uuid => Some(Value::Str(Cow::Owned(uuid_v4().into_bytes()))),
            F::Date(off) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                Some(Value::Int(now + off))
            }
            F::SslFc => Some(Value::Bool(f.tls().is_some())),
            F::SslCUsed => Some(Value::Bool(f.tls().is_some_and(|t| t.client_cert))),
            F::SslFcIsResumed => Some(Value::Bool(f.tls().is_some_and(|t| t.resumed))),
            F::FcErr => Some(Value::Int(0)),
            F::FcPpTlv(kind) => f
                .conn
                .proxy_tlv(*kind)
                .map(|v| Value::Str(Cow::Borrowed(v))),
            F::UniqueId => f.unique_id().map(|u| Value::Str(Cow::Owned(u.to_vec()))),
            F::HttpFirstReq => f.stream.map(|s| Value::Bool(s.first)),
            F::SslErr => f.tls().map(|_| Value::Int(0)),
            F::SslCVerify => f.tls().map(|_| Value::Int(0)),
            F::SslCSDn => f
                .tls()?
                .client_dn
                .as_ref()
                .map(|d| Value::Str(Cow::Owned(d.as_bytes().to_vec()))),
            F::SslFcText(which) => {
                let t = f.tls()?;
                let v = match which {
                    TlsText::Sni => t.sni.as_deref(),
                    TlsText::Protocol => t.protocol.as_deref(),
                    TlsText::Cipher => t.cipher.as_deref(),
                }?;
                Some(Value::Str(Cow::Owned(v.as_bytes().to_vec())))
            }
            F::ProtoHttp => Some(Value::Bool(f.req.is_some())),
            F::ReqLen => Some(Value::Int(f.payload.len() as i64)),
            F::ReqPayload(off, len) => {
                let end = if *len == 0 {
                    f.payload.len()
                } else {
                    off + len
                };
                let got = f.payload.get(*off..end).and_then(text);
                if got.is_none() && !f.payload_final {
                    f.missing.set(true);
                }
                got
            }
            F::ReqSslAlpn => match super::tcp::client_hello_alpn(f.payload) {
                Ok(protocols) => protocols.first().and_then(|p| text(p)),
                Err(super::tcp::Hello::Partial) => {
                    if !f.payload_final {
                        f.missing.set(true);
                    }
                    None
                }
                Err(_) => None,
            },
            F::ReqSslSni | F::ReqSslHelloType => match super::tcp::client_hello(f.payload) {
                super::tcp::Hello::Partial => {
                    if !f.payload_final {
                        f.missing.set(true);
                    }
                    None
                }
                super::tcp::Hello::NotHello => None,
                super::tcp::Hello::Hello(sni) => match self {
                    F::ReqSslSni => sni.and_then(text),
                    _ => Some(Value::Int(1)),
                },
            },
            F::WaitEnd => {
                if !f.payload_final {
                    f.missing.set(true);
                }
                Some(Value::Bool(f.payload_final))
            }
            F::HttpAuth(list) => Some(Value::Bool(auth_user(f, *list).is_some())),
            F::Sc(n, t, c) => super::stick::fetch_sc(f, *n, *t, *c),
            F::SrcTable(t, c) => super::stick::fetch_src(f, *t, *c),
            F::TableCnt(t) => super::stick::fetch_table_cnt(f, *t),
            F::HttpAuthGroup(list) => auth_user(f, *list)
                .and_then(|g| g.first())
                .map(|g| Value::Str(Cow::Owned(g.as_bytes().to_vec()))),
        }
    }

    /// Every value the fetch has, for ACLs: each occurrence of a header or
    /// cookie, each group of a user. Stops when `each` returns true.
    pub fn fetch_all<'a>(&self, f: &Facts<'a>, each: &mut dyn FnMut(Value<'a>) -> bool) {
        use Fetch as F;
        let view = |s: Side| match s {
            Side::Req => f.req,
            Side::Res => f.res,
        };
        match self {
            // Every protocol offered, for an ACL to match any of them.
            F::ReqSslAlpn => {
                if let Ok(protocols) = super::tcp::client_hello_alpn(f.payload) {
                    for p in protocols {
                        if each(Value::Str(Cow::Borrowed(p))) {
                            return;
                        }
                    }
                } else if !f.payload_final {
                    f.missing.set(true);
                }
            }
            F::Hdr {
                side,
                name,
                occ: None,
                full,
            } => {
                let Some(v) = view(*side) else { return };
                if *full {
                    for l in v.lines(name) {
                        if each(Value::Str(Cow::Borrowed(l))) {
                            return;
                        }
                    }
                } else {
                    for l in v.values(name) {
                        if each(Value::Str(Cow::Borrowed(l))) {
                            return;
                        }
                    }
                }
            }
            F::Cook(side, name) => {
                let Some(v) = view(*side) else { return };
                for (n, val) in cookies(v, *side) {
                    if n == &name[..] && each(Value::Str(Cow::Borrowed(val))) {
                        return;
                    }
                }
            }
            F::HttpAuthGroup(list) => {
                if let Some(groups) = auth_user(f, *list) {
                    for g in groups {
                        if each(Value::Str(Cow::Owned(g.as_bytes().to_vec()))) {
                            return;
                        }
                    }
                }
            }
            _ => {
                if let Some(v) = self.fetch(f) {
                    each(v);
                }
            }
        }
    }
}

/// The `occ`th item: 1 is the first, -1 the last. The last (the common
/// case) is found without collecting.
fn nth<'a>(mut it: impl Iterator<Item = &'a [u8]>, occ: i64) -> Option<&'a [u8]> {
    match occ {
        -1 => it.last(),
        1.. => it.nth(usize::try_from(occ - 1).ok()?),
        0 => None,
        _ => {
            let all: Vec<&[u8]> = it.collect();
            let back = usize::try_from(-occ).ok()?;
            all.len()
                .checked_sub(back)
                .and_then(|i| all.get(i).copied())
        }
    }
}

fn cookies<'a>(v: View<'a>, side: Side) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
    v.cookies(match side {
        Side::Req => b"cookie",
        Side::Res => b"set-cookie",
    })
}

/// The value of query parameter `name` (the first occurrence).
fn url_param<'a>(r: View<'a>, name: &[u8], delim: u8) -> Option<&'a [u8]> {
    r.query()?.split(|&b| b == delim).find_map(|p| {
        // A bare name has an empty value.
        let (k, v) = super::http::split_once(p, b'=').unwrap_or((p, b""));
        (k == name).then_some(v)
    })
}

/// The groups of the user the request's Basic credentials name, when they
/// are right for userlist `list`.
fn auth_user<'a>(f: &Facts<'a>, list: usize) -> Option<&'a [String]> {
    let r = f.req?;
    let value = r.lines(b"authorization").next()?;
    let (scheme, cred) = super::http::split_once(value.trim_ascii(), b' ')?;
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(cred.trim_ascii())
        .ok()?;
    let (user, pass) = super::http::split_once(&decoded, b':')?;
    f.world.check_user(list, user, pass)
}

/// A random version-4 UUID in its usual lowercase text form. Like
/// HAProxy's, it comes from a fast generator, not a cryptographic one.
fn uuid_v4() -> String {
    let random = (u128::from(crate::util::random::next_u64()) << 64)
        | u128::from(crate::util::random::next_u64());
    // The version (4) in bits 76..80, the RFC 4122 variant (0b10) in bits
    // 62..64: the high nibble of byte 6 and the top bits of byte 8.
    let u = (random & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        u >> 96,
        (u >> 80) & 0xffff,
        (u >> 64) & 0xffff,
        (u >> 48) & 0xffff,
        u & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod uuid_tests {
    #[test]
    fn uuid_has_version_4_and_the_rfc_variant() {
        let u = super::uuid_v4();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(u, super::uuid_v4());
    }
}
