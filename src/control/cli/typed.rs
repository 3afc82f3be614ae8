//! The `typed` forms of `show stat` and `show info`: one line per field,
//! `OBJ.IID.SID.POS.NAME.PROC:TAGS:TYPE:VALUE` (and `POS.NAME.PROC:...` for
//! info), with HAProxy 2.6's positions, tags (origin, nature, scope) and
//! types, so that tools reading the typed form find each field where
//! HAProxy puts it. Empty fields are left out, as HAProxy leaves them.

use std::fmt::Write;

use crate::stats::snapshot::{Kind, Row, COLUMNS};

/// `show stat typed`.
pub fn stat(rows: &[Row]) -> String {
    let dash = COLUMNS
        .iter()
        .position(|c| *c == "-")
        .unwrap_or(COLUMNS.len());
    let mut out = String::new();
    for r in rows {
        let obj = match r.kind {
            Kind::Frontend => 'F',
            Kind::Backend => 'B',
            Kind::Server => 'S',
        };
        let (iid, sid) = (r.get("iid"), r.get("sid"));
        for (i, (name, value)) in COLUMNS.iter().zip(&r.values).enumerate() {
            if value.is_empty() || *name == "-" {
                continue;
            }
            // The typed positions do not count CSV's "-" column.
            let pos = if i > dash { i - 1 } else { i };
            let (tags, ty) = STAT_TAGS
                .iter()
                .find(|(o, n, ..)| *o == obj && n == name)
                .map(|(_, _, t, ty)| (*t, *ty))
                .unwrap_or_else(|| fallback(value));
            let _ = writeln!(out, "{obj}.{iid}.{sid}.{pos}.{name}.1:{tags}:{ty}:{value}");
        }
    }
    out
}

/// `show info typed`, from the plain form's "Name: value" lines.
pub fn info(plain: &str) -> String {
    let mut out = String::new();
    for line in plain.lines() {
        let Some((name, value)) = line.split_once(": ") else {
            continue;
        };
        let Some((pos, _, tags, ty)) = INFO_TAGS.iter().find(|(_, n, ..)| *n == name) else {
            continue;
        };
        let _ = writeln!(out, "{pos}.{name}.1:{tags}:{ty}:{value}");
    }
    out
}

/// Tags for a field HAProxy left empty in the output they were read from.
fn fallback(value: &str) -> (&'static str, &'static str) {
    if value.parse::<u64>().is_ok() {
        ("MGP", "u64")
    } else if value.parse::<i64>().is_ok() {
        ("MGP", "s32")
    } else {
        ("MGP", "str")
    }
}

/// HAProxy 2.6's tags and types of the `show stat typed` fields, by object
/// (F frontend, B backend, S server) and column: read off its output.
pub const STAT_TAGS: &[(char, &str, &str, &str)] = &[
    ('B', "pxname", "KNS", "str"),
    ('B', "svname", "KNS", "str"),
    ('B', "qcur", "MGP", "u32"),
    ('B', "qmax", "MMP", "u32"),
    ('B', "scur", "MGP", "u32"),
    ('B', "smax", "MMP", "u32"),
    ('B', "slim", "CLP", "u32"),
    ('B', "stot", "MCP", "u64"),
    ('B', "bin", "MCP", "u64"),
    ('B', "bout", "MCP", "u64"),
    ('B', "dreq", "MCP", "u64"),
    ('B', "dresp", "MCP", "u64"),
    ('B', "econ", "MCP", "u64"),
    ('B', "eresp", "MCP", "u64"),
    ('B', "wretr", "MCP", "u64"),
    ('B', "wredis", "MCP", "u64"),
    ('B', "status", "SGP", "str"),
    ('B', "weight", "MaP", "u32"),
    ('B', "act", "MGP", "u32"),
    ('B', "bck", "MGP", "u32"),
    ('B', "chkdown", "MCP", "u64"),
    ('B', "lastchg", "MAP", "u32"),
    ('B', "downtime", "MCP", "u32"),
    ('B', "pid", "KGP", "u32"),
    ('B', "iid", "KGS", "u32"),
    ('B', "sid", "KGS", "u32"),
    ('B', "lbtot", "MCP", "u64"),
    ('B', "type", "CGS", "u32"),
    ('B', "rate", "MGP", "u32"),
    ('B', "rate_max", "MGP", "u32"),
    ('B', "hrsp_1xx", "MCP", "u64"),
    ('B', "hrsp_2xx", "MCP", "u64"),
    ('B', "hrsp_3xx", "MCP", "u64"),
    ('B', "hrsp_4xx", "MCP", "u64"),
    ('B', "hrsp_5xx", "MCP", "u64"),
    ('B', "hrsp_other", "MCP", "u64"),
    ('B', "req_tot", "MCP", "u64"),
    ('B', "cli_abrt", "MCP", "u64"),
    ('B', "srv_abrt", "MCP", "u64"),
    ('B', "comp_in", "MCP", "u64"),
    ('B', "comp_out", "MCP", "u64"),
    ('B', "comp_byp", "MCP", "u64"),
    ('B', "comp_rsp", "MCP", "u64"),
    ('B', "lastsess", "MAP", "s32"),
    ('B', "qtime", "MaP", "u32"),
    ('B', "ctime", "MaP", "u32"),
    ('B', "rtime", "MaP", "u32"),
    ('B', "ttime", "MaP", "u32"),
    ('B', "mode", "CGS", "str"),
    ('B', "algo", "CGS", "str"),
    ('B', "wrew", "MCP", "u64"),
    ('B', "connect", "MCP", "u64"),
    ('B', "reuse", "MCP", "u64"),
    ('B', "cache_lookups", "MCP", "u64"),
    ('B', "cache_hits", "MCP", "u64"),
    ('B', "qtime_max", "MMP", "u32"),
    ('B', "ctime_max", "MMP", "u32"),
    ('B', "rtime_max", "MMP", "u32"),
    ('B', "ttime_max", "MMP", "u32"),
    ('B', "eint", "MCP", "u64"),
    ('B', "uweight", "MaP", "u32"),
    ('B', "agg_server_status", "MGP", "u32"),
    ('B', "agg_server_check_status", "MGP", "u32"),
    ('B', "agg_check_status", "MGP", "u32"),
    ('B', "ssl_sess", "MCP", "u64"),
    ('B', "ssl_reused_sess", "MCP", "u64"),
    ('B', "ssl_failed_handshake", "MCP", "u64"),
    ('B', "h2_headers_rcvd", "MCP", "u64"),
    ('B', "h2_data_rcvd", "MCP", "u64"),
    ('B', "h2_settings_rcvd", "MCP", "u64"),
    ('B', "h2_rst_stream_rcvd", "MCP", "u64"),
    ('B', "h2_goaway_rcvd", "MCP", "u64"),
    ('B', "h2_detected_conn_protocol_errors", "MCP", "u64"),
    ('B', "h2_detected_strm_protocol_errors", "MCP", "u64"),
    ('B', "h2_rst_stream_resp", "MCP", "u64"),
    ('B', "h2_goaway_resp", "MCP", "u64"),
    ('B', "h2_open_connections", "MGP", "u64"),
    ('B', "h2_backend_open_streams", "MGP", "u64"),
    ('B', "h2_total_connections", "MCP", "u64"),
    ('B', "h2_backend_total_streams", "MCP", "u64"),
    ('B', "h1_open_connections", "MGP", "u64"),
    ('B', "h1_open_streams", "MGP", "u64"),
    ('B', "h1_total_connections", "MCP", "u64"),
    ('B', "h1_total_streams", "MCP", "u64"),
    ('B', "h1_bytes_in", "MCP", "u64"),
    ('B', "h1_bytes_out", "MCP", "u64"),
    ('B', "h1_spliced_bytes_in", "MCP", "u64"),
    ('B', "h1_spliced_bytes_out", "MCP", "u64"),
    ('F', "pxname", "KNS", "str"),
    ('F', "svname", "KNS", "str"),
    ('F', "scur", "MGP", "u32"),
    ('F', "smax", "MMP", "u32"),
    ('F', "slim", "CLP", "u32"),
    ('F', "stot", "MCP", "u64"),
    ('F', "bin", "MCP", "u64"),
    ('F', "bout", "MCP", "u64"),
    ('F', "dreq", "MCP", "u64"),
    ('F', "dresp", "MCP", "u64"),
    ('F', "ereq", "MCP", "u64"),
    ('F', "status", "SGP", "str"),
    ('F', "pid", "KGP", "u32"),
    ('F', "iid", "KGS", "u32"),
    ('F', "sid", "KGS", "u32"),
    ('F', "type", "CGS", "u32"),
    ('F', "rate", "MRP", "u32"),
    ('F', "rate_lim", "CLP", "u32"),
    ('F', "rate_max", "MMP", "u32"),
    ('F', "hrsp_1xx", "MCP", "u64"),
    ('F', "hrsp_2xx", "MCP", "u64"),
    ('F', "hrsp_3xx", "MCP", "u64"),
    ('F', "hrsp_4xx", "MCP", "u64"),
    ('F', "hrsp_5xx", "MCP", "u64"),
    ('F', "hrsp_other", "MCP", "u64"),
    ('F', "req_rate", "MRP", "u32"),
    ('F', "req_rate_max", "MMP", "u32"),
    ('F', "req_tot", "MCP", "u64"),
    ('F', "comp_in", "MCP", "u64"),
    ('F', "comp_out", "MCP", "u64"),
    ('F', "comp_byp", "MCP", "u64"),
    ('F', "comp_rsp", "MCP", "u64"),
    ('F', "mode", "CGS", "str"),
    ('F', "conn_rate", "MRP", "u32"),
    ('F', "conn_rate_max", "MMP", "u32"),
    ('F', "conn_tot", "MCP", "u64"),
    ('F', "intercepted", "MCP", "u64"),
    ('F', "dcon", "MCP", "u64"),
    ('F', "dses", "MCP", "u64"),
    ('F', "wrew", "MCP", "u64"),
    ('F', "cache_lookups", "MCP", "u64"),
    ('F', "cache_hits", "MCP", "u64"),
    ('F', "eint", "MCP", "u64"),
    ('F', "ssl_sess", "MCP", "u64"),
    ('F', "ssl_reused_sess", "MCP", "u64"),
    ('F', "ssl_failed_handshake", "MCP", "u64"),
    ('F', "h2_headers_rcvd", "MCP", "u64"),
    ('F', "h2_data_rcvd", "MCP", "u64"),
    ('F', "h2_settings_rcvd", "MCP", "u64"),
    ('F', "h2_rst_stream_rcvd", "MCP", "u64"),
    ('F', "h2_goaway_rcvd", "MCP", "u64"),
    ('F', "h2_detected_conn_protocol_errors", "MCP", "u64"),
    ('F', "h2_detected_strm_protocol_errors", "MCP", "u64"),
    ('F', "h2_rst_stream_resp", "MCP", "u64"),
    ('F', "h2_goaway_resp", "MCP", "u64"),
    ('F', "h2_open_connections", "MGP", "u64"),
    ('F', "h2_backend_open_streams", "MGP", "u64"),
    ('F', "h2_total_connections", "MCP", "u64"),
    ('F', "h2_backend_total_streams", "MCP", "u64"),
    ('F', "h1_open_connections", "MGP", "u64"),
    ('F', "h1_open_streams", "MGP", "u64"),
    ('F', "h1_total_connections", "MCP", "u64"),
    ('F', "h1_total_streams", "MCP", "u64"),
    ('F', "h1_bytes_in", "MCP", "u64"),
    ('F', "h1_bytes_out", "MCP", "u64"),
    ('F', "h1_spliced_bytes_in", "MCP", "u64"),
    ('F', "h1_spliced_bytes_out", "MCP", "u64"),
    ('S', "pxname", "KNS", "str"),
    ('S', "svname", "KNS", "str"),
    ('S', "qcur", "MGP", "u32"),
    ('S', "qmax", "MMP", "u32"),
    ('S', "scur", "MGP", "u32"),
    ('S', "smax", "MMP", "u32"),
    ('S', "stot", "MCP", "u64"),
    ('S', "bin", "MCP", "u64"),
    ('S', "bout", "MCP", "u64"),
    ('S', "dresp", "MCP", "u64"),
    ('S', "econ", "MCP", "u64"),
    ('S', "eresp", "MCP", "u64"),
    ('S', "wretr", "MCP", "u64"),
    ('S', "wredis", "MCP", "u64"),
    ('S', "status", "SGP", "str"),
    ('S', "weight", "MaP", "u32"),
    ('S', "act", "SGP", "u32"),
    ('S', "bck", "SGP", "u32"),
    ('S', "chkfail", "MCP", "u64"),
    ('S', "chkdown", "MCP", "u64"),
    ('S', "lastchg", "MAP", "u32"),
    ('S', "downtime", "MCP", "u32"),
    ('S', "pid", "KGP", "u32"),
    ('S', "iid", "KGS", "u32"),
    ('S', "sid", "KGS", "u32"),
    ('S', "lbtot", "MCP", "u64"),
    ('S', "type", "CGS", "u32"),
    ('S', "rate", "MRP", "u32"),
    ('S', "rate_max", "MMP", "u32"),
    ('S', "check_status", "MOP", "str"),
    ('S', "check_duration", "MDP", "u64"),
    ('S', "hrsp_1xx", "MCP", "u64"),
    ('S', "hrsp_2xx", "MCP", "u64"),
    ('S', "hrsp_3xx", "MCP", "u64"),
    ('S', "hrsp_4xx", "MCP", "u64"),
    ('S', "hrsp_5xx", "MCP", "u64"),
    ('S', "hrsp_other", "MCP", "u64"),
    ('S', "req_tot", "MCP", "u64"),
    ('S', "cli_abrt", "MCP", "u64"),
    ('S', "srv_abrt", "MCP", "u64"),
    ('S', "lastsess", "MAP", "s32"),
    ('S', "last_chk", "MOP", "str"),
    ('S', "qtime", "MaP", "u32"),
    ('S', "ctime", "MaP", "u32"),
    ('S', "rtime", "MaP", "u32"),
    ('S', "ttime", "MaP", "u32"),
    ('S', "check_desc", "MOP", "str"),
    ('S', "check_rise", "CGS", "u32"),
    ('S', "check_fall", "CGS", "u32"),
    ('S', "check_health", "CGS", "u32"),
    ('S', "addr", "CGS", "str"),
    ('S', "mode", "CGS", "str"),
    ('S', "wrew", "MCP", "u64"),
    ('S', "connect", "MCP", "u64"),
    ('S', "reuse", "MCP", "u64"),
    ('S', "srv_icur", "MGP", "u32"),
    ('S', "qtime_max", "MMP", "u32"),
    ('S', "ctime_max", "MMP", "u32"),
    ('S', "rtime_max", "MMP", "u32"),
    ('S', "ttime_max", "MMP", "u32"),
    ('S', "eint", "MCP", "u64"),
    ('S', "idle_conn_cur", "MGP", "u32"),
    ('S', "safe_conn_cur", "MGP", "u32"),
    ('S', "used_conn_cur", "MGP", "u32"),
    ('S', "need_conn_est", "MGP", "u32"),
    ('S', "uweight", "MaP", "u32"),
    ('S', "ssl_sess", "MCP", "u64"),
    ('S', "ssl_reused_sess", "MCP", "u64"),
    ('S', "ssl_failed_handshake", "MCP", "u64"),
];

/// HAProxy 2.6's positions, tags and types of the `show info typed` fields.
pub const INFO_TAGS: &[(u32, &str, &str, &str)] = &[
    (0, "Name", "POS", "str"),
    (1, "Version", "POS", "str"),
    (2, "Release_date", "POS", "str"),
    (3, "Nbthread", "CGS", "u32"),
    (4, "Nbproc", "CGS", "u32"),
    (5, "Process_num", "KGP", "u32"),
    (6, "Pid", "SGP", "u32"),
    (7, "Uptime", "MDP", "str"),
    (8, "Uptime_sec", "MDP", "u32"),
    (9, "Memmax_MB", "CLP", "u32"),
    (10, "PoolAlloc_MB", "MGP", "u32"),
    (11, "PoolUsed_MB", "MGP", "u32"),
    (12, "PoolFailed", "MCP", "u32"),
    (13, "Ulimit-n", "CLP", "u32"),
    (14, "Maxsock", "CLP", "u32"),
    (15, "Maxconn", "CLP", "u32"),
    (16, "Hard_maxconn", "CLP", "u32"),
    (17, "CurrConns", "MGP", "u32"),
    (18, "CumConns", "MCP", "u32"),
    (19, "CumReq", "MCP", "u32"),
    (20, "MaxSslConns", "MMP", "u32"),
    (21, "CurrSslConns", "MGP", "u32"),
    (22, "CumSslConns", "MCP", "u32"),
    (23, "Maxpipes", "CLP", "u32"),
    (24, "PipesUsed", "MGP", "u32"),
    (25, "PipesFree", "MGP", "u32"),
    (26, "ConnRate", "MRP", "u32"),
    (27, "ConnRateLimit", "CLP", "u32"),
    (28, "MaxConnRate", "MMP", "u32"),
    (29, "SessRate", "MRP", "u32"),
    (30, "SessRateLimit", "CLP", "u32"),
    (31, "MaxSessRate", "MRP", "u32"),
    (32, "SslRate", "MRP", "u32"),
    (33, "SslRateLimit", "CLP", "u32"),
    (34, "MaxSslRate", "MMP", "u32"),
    (35, "SslFrontendKeyRate", "MGP", "u32"),
    (36, "SslFrontendMaxKeyRate", "MMP", "u32"),
    (37, "SslFrontendSessionReuse_pct", "MGP", "u32"),
    (38, "SslBackendKeyRate", "MRP", "u32"),
    (39, "SslBackendMaxKeyRate", "MMP", "u32"),
    (40, "SslCacheLookups", "MCP", "u32"),
    (41, "SslCacheMisses", "MCP", "u32"),
    (42, "CompressBpsIn", "MRP", "u32"),
    (43, "CompressBpsOut", "MRP", "u32"),
    (44, "CompressBpsRateLim", "CLP", "u32"),
    (47, "Tasks", "MGP", "u32"),
    (48, "Run_queue", "MGP", "u32"),
    (49, "Idle_pct", "MaP", "u32"),
    (50, "node", "COS", "str"),
    (52, "Stopping", "MGP", "u32"),
    (53, "Jobs", "MGP", "u32"),
    (54, "Unstoppable Jobs", "MGP", "u32"),
    (55, "Listeners", "MGP", "u32"),
    (56, "ActivePeers", "MGP", "u32"),
    (57, "ConnectedPeers", "MGP", "u32"),
    (58, "DroppedLogs", "MGP", "u32"),
    (59, "BusyPolling", "MGP", "u32"),
    (60, "FailedResolutions", "MGP", "u32"),
    (61, "TotalBytesOut", "MGP", "u64"),
    (62, "TotalSplicdedBytesOut", "MGP", "u64"),
    (63, "BytesOutRate", "MRP", "u64"),
    (64, "DebugCommandsIssued", "MGP", "u32"),
    (65, "CumRecvLogs", "MCP", "u32"),
    (66, "Build info", "POS", "str"),
    (67, "Memmax_bytes", "CLP", "u32"),
    (68, "PoolAlloc_bytes", "MGP", "u64"),
    (69, "PoolUsed_bytes", "MGP", "u64"),
    (70, "Start_time_sec", "MDP", "u32"),
    (71, "Tainted", "SGP", "str"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_take_haproxys_positions() {
        let t = info("Name: fulcrum\nUptime_sec: 5\nnot a field\n");
        assert_eq!(t, "0.Name.1:POS:str:fulcrum\n8.Uptime_sec.1:MDP:u32:5\n");
    }
}
