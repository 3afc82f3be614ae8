//! What one check found, in HAProxy's vocabulary (the stats page and the
//! logs show these words).

use std::time::Duration;

/// The result codes HAProxy shows for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// Layer 4 connect succeeded (TCP check).
    L4Ok,
    /// Layer 4 connect timed out.
    L4Tout,
    /// Layer 4 connection problem (refused, reset, unreachable).
    L4Con,
    /// TLS handshake done (a `check-ssl` check with no HTTP).
    L6Ok,
    /// TLS handshake timed out.
    L6Tout,
    /// TLS handshake failed.
    L6Rsp,
    /// Layer 7 answer as expected.
    L7Ok,
    /// Layer 7 answer that keeps the server up but out of load balancing
    /// (a 404 with `http-check disable-on-404`).
    L7OkC,
    /// Layer 7 answer with an unexpected status.
    L7Sts,
    /// Layer 7 answer invalid or not matching the expected content.
    L7Rsp,
    /// Layer 7 answer did not come in time.
    L7Tout,
    /// Enough consecutive errors in the traffic (`observe`): "Health
    /// analyze".
    Hana,
}

impl CheckStatus {
    /// The short code: "L4OK", "L7STS", ...
    pub fn code(self) -> &'static str {
        match self {
            CheckStatus::L4Ok => "L4OK",
            CheckStatus::L4Tout => "L4TOUT",
            CheckStatus::L4Con => "L4CON",
            CheckStatus::L6Ok => "L6OK",
            CheckStatus::L6Tout => "L6TOUT",
            CheckStatus::L6Rsp => "L6RSP",
            CheckStatus::L7Ok => "L7OK",
            CheckStatus::L7OkC => "L7OKC",
            CheckStatus::L7Sts => "L7STS",
            CheckStatus::L7Rsp => "L7RSP",
            CheckStatus::L7Tout => "L7TOUT",
            CheckStatus::Hana => "HANA",
        }
    }

    /// The words HAProxy logs: "Layer7 wrong status", ...
    pub fn reason(self) -> &'static str {
        match self {
            CheckStatus::L4Ok => "Layer4 check passed",
            CheckStatus::L4Tout => "Layer4 timeout",
            CheckStatus::L4Con => "Layer4 connection problem",
            CheckStatus::L6Ok => "Layer6 check passed",
            CheckStatus::L6Tout => "Layer6 timeout",
            CheckStatus::L6Rsp => "Layer6 invalid response",
            CheckStatus::L7Ok => "Layer7 check passed",
            CheckStatus::L7OkC => "Layer7 check conditionally passed",
            CheckStatus::L7Sts => "Layer7 wrong status",
            CheckStatus::L7Rsp => "Layer7 invalid response",
            CheckStatus::L7Tout => "Layer7 timeout",
            CheckStatus::Hana => "Health analyze",
        }
    }

    /// The status of a short code ("L7STS"), as `tcp-check expect
    /// ok-status|error-status|tout-status` name them.
    pub fn from_code(code: &str) -> Option<CheckStatus> {
        [
            CheckStatus::L4Ok,
            CheckStatus::L4Tout,
            CheckStatus::L4Con,
            CheckStatus::L6Ok,
            CheckStatus::L6Tout,
            CheckStatus::L6Rsp,
            CheckStatus::L7Ok,
            CheckStatus::L7OkC,
            CheckStatus::L7Sts,
            CheckStatus::L7Rsp,
            CheckStatus::L7Tout,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    /// Whether HAProxy reports a code with it (its data statuses).
    pub fn has_code(self) -> bool {
        matches!(
            self,
            CheckStatus::L7Ok | CheckStatus::L7OkC | CheckStatus::L7Sts
        )
    }

    /// True for the passing results.
    pub fn passed(self) -> bool {
        matches!(
            self,
            CheckStatus::L4Ok | CheckStatus::L6Ok | CheckStatus::L7Ok | CheckStatus::L7OkC
        )
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The result code.
    pub status: CheckStatus,
    /// HTTP status code, for layer-7 answers.
    pub code: Option<u16>,
    /// Extra information (reason phrase, system error).
    pub info: Option<String>,
    /// How long the check took.
    pub duration: Duration,
    /// The info outlives the check, into the server's UP/DOWN line.
    /// HAProxy's mysql-check points its info (the server's version) into
    /// the check's buffer, which is gone by the time that line is written:
    /// the check's own log line has it, the UP line does not.
    pub info_kept: bool,
}

impl Outcome {
    /// The same, as the server's UP/DOWN line gives it (without an info
    /// that did not outlive the check).
    pub fn describe_state_change(&self) -> String {
        if self.info_kept {
            return self.describe();
        }
        Outcome {
            info_kept: true,
            info: None,
            ..self.clone()
        }
        .describe()
    }

    /// "reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", check duration: 1ms"
    pub fn describe(&self) -> String {
        let mut s = format!("reason: {}", self.status.reason());
        if let Some(c) = self.code {
            s.push_str(&format!(", code: {c}"));
        }
        if let Some(i) = &self.info {
            s.push_str(&format!(", info: \"{i}\""));
        }
        // An analysis of the traffic is no check: it took no time.
        if self.status != CheckStatus::Hana {
            s.push_str(&format!(
                ", check duration: {}ms",
                self.duration.as_millis()
            ));
        }
        s
    }
}
