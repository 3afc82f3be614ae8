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
    /// 422: a transfer coding other than chunked (HAProxy's answer).
    UnprocessableContent,
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
            Status::UnprocessableContent => 422,
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
            Status::UnprocessableContent => "Unprocessable Content",
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
            Status::UnprocessableContent => "The server cannot process the contained instructions.",
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

/// The explanation line of HAProxy's built-in page for `code`, for the
/// statuses it has a page for.
pub fn explanation(code: u16) -> Option<&'static str> {
    Some(match code {
        200 => "Service ready.",
        400 => "Your browser sent an invalid request.",
        401 | 407 => "You need a valid user and password to access this content.",
        403 => "Request forbidden by administrative rules.",
        404 => "The requested URL was not found.",
        405 => {
            "A request was made of a resource using a request method not supported by that resource"
        }
        408 => "Your browser didn't send a complete request in time.",
        410 => "The resource is no longer available and will not be available again.",
        413 => "The request entity exceeds the maximum allowed.",
        425 => "Your browser sent a request too early.",
        429 => "You have made too many requests.",
        500 => "An internal server error occurred.",
        501 => "The server does not support the functionality required to fulfill the request.",
        502 => "The server returned an invalid or incomplete response.",
        503 => "No server is available to handle this request.",
        504 => "The server didn't respond in time.",
        _ => return None,
    })
}

/// The HTML body of the page for `code` (a page exists for every code:
/// one HAProxy has no page for gets a bare one).
pub fn page_body(code: u16) -> String {
    let reason = crate::rules::reason_phrase(code);
    match explanation(code) {
        Some(e) => format!("<html><body><h1>{code} {reason}</h1>\n{e}\n</body></html>\n"),
        None => format!("<html><body><h1>{code} {reason}</h1>\n</body></html>\n"),
    }
}
