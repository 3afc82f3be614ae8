//! `tcp-request connection` and `tcp-request content` rules, and the TLS
//! ClientHello reader behind `req.ssl_sni` and `req.ssl_hello_type`, which
//! lets a `mode tcp` frontend route TLS it does not terminate.

use super::acl::{Cond, Named};
use super::facts::Facts;
use super::Context;

/// Which `tcp-request` ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpSet {
    /// `tcp-request connection`: at accept, before any byte is read.
    Connection,
    /// `tcp-request content`: on the first bytes, within `inspect-delay`.
    Content,
}

/// A `tcp-request` action.
#[derive(Debug, Clone)]
pub enum TcpAction {
    /// `accept`: stop evaluating, keep the connection.
    Accept,
    /// `reject`: close the connection.
    Reject,
    /// `track-sc0..2 EXPR [table T]`: go on.
    Track(super::stick::Track),
    /// `sc-inc-gpc0(N)`: go on.
    IncGpc0(usize),
}

/// One `tcp-request` rule.
#[derive(Debug, Clone)]
pub struct TcpRule {
    /// What it does.
    pub action: TcpAction,
    /// When.
    pub cond: Option<Cond>,
}

/// What a ruleset decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpVerdict {
    /// Keep the connection (an `accept`, or no rule applied).
    Accept,
    /// Close it.
    Reject,
    /// A rule needs bytes that have not arrived yet: wait for more, until
    /// `inspect-delay` ends.
    Wait,
}

impl TcpRule {
    /// Parses the words after `tcp-request connection|content`.
    pub fn parse(
        set: TcpSet,
        words: &[String],
        acls: &[Named],
        ctx: &Context,
    ) -> Result<TcpRule, String> {
        let (act, cond) = super::action::split_cond(words);
        let action = match act {
            [a] if a == "accept" => TcpAction::Accept,
            [a] if a == "reject" => TcpAction::Reject,
            [a, arg, ..] if a == "accept" || a == "reject" => {
                return Err(format!("'{a}' takes no argument, got '{arg}'"))
            }
            [a, args @ ..] if a.starts_with("track-sc") => {
                let t = super::stick::Track::parse(a, args, ctx)
                    .unwrap_or_else(|| Err(format!("unknown action '{a}'")))?;
                if set == TcpSet::Connection
                    && (t.expr.fetch.needs_payload() || t.expr.fetch.needs_http())
                {
                    return Err(format!("'{a}': 'tcp-request connection' rules run before any byte is read: the key may only use addresses (src, dst, ...)"));
                }
                TcpAction::Track(t)
            }
            [a, args @ ..] if a.starts_with("sc-inc-gpc0(") => {
                if let Some(x) = args.first() {
                    return Err(format!("'{a}' takes no argument, got '{x}'"));
                }
                TcpAction::IncGpc0(
                    super::stick::parse_inc_gpc0(a)
                        .unwrap_or_else(|| Err(format!("'{a}': missing ')'")))?,
                )
            }
            [a, ..] => {
                return Err(format!(
                    "action '{a}' is not supported yet (supported: accept, reject, track-sc0..2, sc-inc-gpc0)"
                ))
            }
            [] => return Err("expects an action".into()),
        };
        let cond = if cond.is_empty() {
            None
        } else {
            let c = Cond::parse(cond, acls, ctx)?;
            if set == TcpSet::Connection
                && c.acls()
                    .any(|a| a.expr().fetch.needs_payload() || a.expr().fetch.needs_http())
            {
                return Err("'tcp-request connection' rules run before any byte is read: the condition may only use addresses (src, dst, ...); use 'tcp-request content' for the payload".into());
            }
            Some(c)
        };
        Ok(TcpRule { action, cond })
    }
}

/// Runs `rules` over what is known so far.
pub fn run(rules: &[TcpRule], f: &Facts) -> TcpVerdict {
    for r in rules {
        f.missing.set(false);
        let holds = r.cond.as_ref().is_none_or(|c| c.holds(f));
        if f.missing.get() {
            return TcpVerdict::Wait;
        }
        if holds {
            match &r.action {
                TcpAction::Accept => return TcpVerdict::Accept,
                TcpAction::Reject => return TcpVerdict::Reject,
                TcpAction::Track(t) => t.run(f, false),
                TcpAction::IncGpc0(s) => super::stick::inc_gpc0(f, *s),
            }
        }
    }
    TcpVerdict::Accept
}

/// What the first bytes of a connection say about TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hello<'a> {
    /// More bytes are needed.
    Partial,
    /// Not a TLS handshake record holding a ClientHello.
    NotHello,
    /// A ClientHello, with its server name if it sends one.
    Hello(Option<&'a [u8]>),
}

/// Reads the ClientHello at the start of `p` (RFC 8446 4.1.2, RFC 6066 3).
pub fn client_hello(p: &[u8]) -> Hello<'_> {
    match hello_extension(p, 0) {
        Err(h) => h,
        Ok(None) => Hello::Hello(None),
        Ok(Some(body)) => {
            // server_name: a list of (type, name); type 0 is a host name.
            let sni = (|| {
                let mut s = Reader { p: body, at: 0 };
                let list = usize::from(s.u16()?);
                let list = s.take(list)?;
                let mut n = Reader { p: list, at: 0 };
                while n.at < list.len() {
                    let kind = n.u8()?;
                    let l = usize::from(n.u16()?);
                    let name = n.take(l)?;
                    if kind == 0 {
                        return Some(Some(name));
                    }
                }
                Some(None)
            })();
            match sni {
                Some(name) => Hello::Hello(name),
                None => Hello::NotHello,
            }
        }
    }
}

/// The protocols of the ALPN extension (`req.ssl_alpn`), in the client's
/// order: Err(Hello::Partial) while the hello is incomplete,
/// Err(Hello::NotHello) when it is none or has no ALPN.
pub fn client_hello_alpn(p: &[u8]) -> Result<Vec<&[u8]>, Hello<'_>> {
    let body = hello_extension(p, 16)?.ok_or(Hello::NotHello)?;
    let parsed = (|| {
        let mut r = Reader { p: body, at: 0 };
        let list = usize::from(r.u16()?);
        let list = r.take(list)?;
        let mut n = Reader { p: list, at: 0 };
        let mut out = Vec::new();
        while n.at < list.len() {
            let l = usize::from(n.u8()?);
            out.push(n.take(l)?);
        }
        Some(out)
    })();
    parsed.filter(|v| !v.is_empty()).ok_or(Hello::NotHello)
}

/// The body of extension `wanted` of a ClientHello at the start of `p`
/// (None when it has no such extension), or why there is none to read.
fn hello_extension(p: &[u8], wanted: u16) -> Result<Option<&[u8]>, Hello<'_>> {
    let r = Reader { p, at: 0 };
    // Record header: handshake (22), version, length.
    let Some(&ct) = p.first() else {
        return Err(Hello::Partial);
    };
    if ct != 22 {
        return Err(Hello::NotHello);
    }
    let Some(rec_len) = r.at(3).and_then(|_| r.u16_at(3)) else {
        return Err(Hello::Partial);
    };
    let rec = match p.get(5..5 + usize::from(rec_len)) {
        Some(rec) => rec,
        None => return Err(Hello::Partial),
    };
    let mut r = Reader { p: rec, at: 0 };
    let parsed = (|| {
        if r.u8()? != 1 {
            return Some(Err(Hello::NotHello));
        }
        let _len = r.take(3)?;
        r.take(2 + 32)?; // version, random
        let sid = r.u8()?;
        r.take(usize::from(sid))?;
        let suites = r.u16()?;
        r.take(usize::from(suites))?;
        let comp = r.u8()?;
        r.take(usize::from(comp))?;
        if r.at >= rec.len() {
            return Some(Ok(None));
        }
        let ext_len = usize::from(r.u16()?);
        let exts = r.take(ext_len)?;
        let mut e = Reader { p: exts, at: 0 };
        while e.at < exts.len() {
            let ty = e.u16()?;
            let len = usize::from(e.u16()?);
            let body = e.take(len)?;
            if ty == wanted {
                return Some(Ok(Some(body)));
            }
        }
        Some(Ok(None))
    })();
    // The record is whole: a short field inside it means it is malformed.
    parsed.unwrap_or(Err(Hello::NotHello))
}

struct Reader<'a> {
    p: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn at(&self, i: usize) -> Option<u8> {
        self.p.get(i).copied()
    }
    fn u16_at(&self, i: usize) -> Option<u16> {
        Some(u16::from_be_bytes([*self.p.get(i)?, *self.p.get(i + 1)?]))
    }
    fn u8(&mut self) -> Option<u8> {
        let v = *self.p.get(self.at)?;
        self.at += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let v = self.u16_at(self.at)?;
        self.at += 2;
        Some(v)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.p.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(v)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A minimal ClientHello naming `host`.
    pub fn hello(host: &str) -> Vec<u8> {
        let name = host.as_bytes();
        let mut sni = Vec::new();
        sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        sni.push(0);
        sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni.extend_from_slice(name);
        let mut ext = Vec::new();
        ext.extend_from_slice(&0u16.to_be_bytes());
        ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        ext.extend_from_slice(&sni);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one suite
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn reads_the_server_name() {
        let h = hello("api.example.com");
        assert_eq!(
            client_hello(&h),
            Hello::Hello(Some(&b"api.example.com"[..]))
        );
        for cut in [0, 1, 4, 10, h.len() - 1] {
            assert_eq!(client_hello(&h[..cut]), Hello::Partial, "cut at {cut}");
        }
        assert_eq!(client_hello(b"GET / HTTP/1.1\r\n"), Hello::NotHello);
    }

    #[test]
    fn damaged_hellos_never_panic() {
        let h = hello("x.y");
        for i in 0..h.len() {
            for b in [0u8, 0xff, 0x7f] {
                let mut d = h.clone();
                d[i] = b;
                let _ = client_hello(&d);
            }
        }
    }
}
