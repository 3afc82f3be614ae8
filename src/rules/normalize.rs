//! `http-request normalize-uri`: the path and percent-encoding clean-ups
//! HAProxy offers, applied to the request target (the query is kept).

use super::action::Normalize;

/// The target after one normalization.
pub fn apply(m: Normalize, target: &[u8]) -> Vec<u8> {
    // The query keeps its '?'.
    let (path, query) = match target
        .iter()
        .position(|&b| b == b'?')
        .and_then(|i| target.split_at_checked(i))
    {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let mut out = match m {
        Normalize::MergeSlashes => merge_slashes(path),
        Normalize::StripDot => strip_dot(path),
        Normalize::StripDotdot(full) => strip_dotdot(path, full),
        Normalize::PercentUpper(_) => percent_upper(path),
        Normalize::PercentDecodeUnreserved(_) => decode_unreserved(path),
    };
    if let Some(q) = query {
        out.extend_from_slice(match m {
            Normalize::PercentUpper(_) => return [out, percent_upper(q)].concat(),
            Normalize::PercentDecodeUnreserved(_) => return [out, decode_unreserved(q)].concat(),
            _ => q,
        });
    }
    out
}

fn merge_slashes(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    for &b in p {
        if b == b'/' && out.last() == Some(&b'/') {
            continue;
        }
        out.push(b);
    }
    out
}

fn segments(p: &[u8]) -> Vec<&[u8]> {
    p.split(|&b| b == b'/').collect()
}

fn strip_dot(p: &[u8]) -> Vec<u8> {
    let segs = segments(p);
    let last = segs.len().saturating_sub(1);
    let kept: Vec<&[u8]> = segs
        .iter()
        .enumerate()
        .filter(|(i, s)| **s != b"." || (*i == 0 && segs.len() == 1))
        .map(|(i, s)| if i == last && *s == b"." { &b""[..] } else { s })
        .collect();
    let mut out = kept.join(&b'/');
    if p.ends_with(b"/.") && !out.ends_with(b"/") {
        out.push(b'/');
    }
    out
}

fn strip_dotdot(p: &[u8], full: bool) -> Vec<u8> {
    let mut stack: Vec<&[u8]> = Vec::new();
    let segs = segments(p);
    let n = segs.len();
    for (i, s) in segs.into_iter().enumerate() {
        if s == b".." {
            // The leading empty segment (before the first '/') stays.
            if stack.len() > 1 {
                stack.pop();
            } else if !full {
                stack.push(s);
            }
            if i == n - 1 {
                stack.push(b"");
            }
        } else {
            stack.push(s);
        }
    }
    stack.join(&b'/')
}

fn percent_upper(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    let mut rest = p;
    while let Some((&c, after)) = rest.split_first() {
        if let (b'%', [h, l, more @ ..]) = (c, after) {
            if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() {
                out.extend_from_slice(&[c, h.to_ascii_uppercase(), l.to_ascii_uppercase()]);
                rest = more;
                continue;
            }
        }
        out.push(c);
        rest = after;
    }
    out
}

fn decode_unreserved(p: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(p.len());
    let mut rest = p;
    while let Some((&c, after)) = rest.split_first() {
        if let (b'%', [h, l, more @ ..]) = (c, after) {
            if let (Some(h), Some(l)) = (hex(*h), hex(*l)) {
                let decoded = h << 4 | l;
                if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                    out.push(decoded);
                    rest = more;
                    continue;
                }
            }
        }
        out.push(c);
        rest = after;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn normalizations() {
        assert_eq!(
            apply(Normalize::MergeSlashes, b"//a///b?x//y"),
            b"/a/b?x//y"
        );
        assert_eq!(apply(Normalize::StripDot, b"/a/./b/."), b"/a/b/");
        assert_eq!(apply(Normalize::StripDotdot(false), b"/a/b/../c"), b"/a/c");
        assert_eq!(apply(Normalize::StripDotdot(false), b"/../a"), b"/../a");
        assert_eq!(apply(Normalize::StripDotdot(true), b"/../a"), b"/a");
        assert_eq!(
            apply(Normalize::PercentUpper(false), b"/%2f%aa?%3d"),
            b"/%2F%AA?%3D"
        );
        assert_eq!(
            apply(Normalize::PercentDecodeUnreserved(false), b"/%41%2F"),
            b"/A%2F"
        );
    }
}
