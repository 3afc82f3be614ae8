//! The CSV view (`;csv`): HAProxy's `show stat` format, so that tools
//! written for HAProxy (prometheus-haproxy-exporter, scripts) read it as is.

use super::snapshot::{Row, COLUMNS};

/// A field as HAProxy writes it: commas would break the format.
fn field(v: &str) -> String {
    v.replace([',', '\n', '\r'], " ")
}

/// The header line and one line per row; each line ends with a comma.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from("# ");
    for c in COLUMNS {
        out.push_str(c);
        out.push(',');
    }
    out.push('\n');
    for r in rows {
        for v in &r.values {
            out.push_str(&field(v));
            out.push(',');
        }
        out.push('\n');
    }
    out
}
