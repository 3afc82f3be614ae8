//! The JSON view (`;json`): one object per row, column name to value, with
//! empty columns left out.

use super::snapshot::{Row, COLUMNS};

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// A JSON array of row objects.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from("[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        let mut first = true;
        for (c, v) in COLUMNS.iter().zip(&r.values) {
            if v.is_empty() || *c == "-" {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&format!("\"{}\":\"{}\"", escape(c), escape(v)));
        }
        if let Some((ok, failed)) = r.tls {
            out.push_str(&format!(
                ",\"ssl_sess\":\"{ok}\",\"ssl_failed_handshake\":\"{failed}\""
            ));
        }
        if let Some(p) = r.latency.filter(|p| p.count > 0) {
            out.push_str(&format!(
                ",\"resp_time_p50_us\":\"{}\",\"resp_time_p90_us\":\"{}\",\"resp_time_p99_us\":\"{}\",\"resp_time_max_us\":\"{}\"",
                p.p50, p.p90, p.p99, p.max
            ));
        }
        out.push('}');
    }
    out.push_str("]\n");
    out
}
