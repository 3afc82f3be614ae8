//! The answers fulcrum gives itself, as HAProxy gives them: a status line,
//! a short HTML body, `Connection: close`, and the connection closed.

/// Statuses the proxy produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 400: malformed request.
    BadRequest,
    /// 403: refused by rule.
    Forbidden,
    /// 408: the request head did not arrive in time.
    RequestTimeout,
    /// 414: request line too long.
    UriTooLong,
    /// 431: headers too large.
    HeaderTooLarge,
    /// 500: internal error.
    InternalError,
    /// 501: not implemented (e.g. a transfer coding).
    NotImplemented,
    /// 502: the server's answer was invalid or missing.
    BadGateway,
    /// 503: no server available.
    Unavailable,
    /// 504: the server did not answer in time.
    GatewayTimeout,
}

impl Status {
    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::RequestTimeout => 408,
            Status::UriTooLong => 414,
            Status::HeaderTooLarge => 431,
            Status::InternalError => 500,
            Status::NotImplemented => 501,
            Status::BadGateway => 502,
            Status::Unavailable => 503,
            Status::GatewayTimeout => 504,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::RequestTimeout => "Request Time-out",
            Status::UriTooLong => "URI Too Long",
            Status::HeaderTooLarge => "Request Header Fields Too Large",
            Status::InternalError => "Internal Server Error",
            Status::NotImplemented => "Not Implemented",
            Status::BadGateway => "Bad Gateway",
            Status::Unavailable => "Service Unavailable",
            Status::GatewayTimeout => "Gateway Time-out",
        }
    }

    fn explanation(self) -> &'static str {
        match self {
            Status::BadRequest => "Your browser sent an invalid request.",
            Status::Forbidden => "Request forbidden by administrative rules.",
            Status::RequestTimeout => "Your browser didn't send a complete request in time.",
            Status::UriTooLong => "The request line is too long.",
            Status::HeaderTooLarge => "The request's header fields are too large.",
            Status::InternalError => "An internal server error occurred.",
            Status::NotImplemented => "The server does not support the functionality required.",
            Status::BadGateway => "The server returned an invalid or incomplete response.",
            Status::Unavailable => "No server is available to handle this request.",
            Status::GatewayTimeout => "The server didn't respond in time.",
        }
    }

    /// The whole answer: head and body.
    pub fn response(self) -> Vec<u8> {
        let body = format!(
            "<html><body><h1>{} {}</h1>\n{}\n</body></html>\n",
            self.code(),
            self.reason(),
            self.explanation()
        );
        format!(
            "HTTP/1.1 {} {}\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n{body}",
            self.code(),
            self.reason(),
            body.len()
        )
        .into_bytes()
    }
}
