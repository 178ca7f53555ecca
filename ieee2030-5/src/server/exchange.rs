//! One HTTP exchange as the server core sees it, independent of any HTTP library.

use crate::primitives::HexBinary160;

/// The media type of IEEE 2030.5 XML (clause 5.2).
pub const MEDIA_TYPE: &str = "application/sep+xml";

/// The request methods the core answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Read a resource.
    Get,
    /// Create a resource in a list (or send a response or a reading).
    Post,
    /// Replace a resource.
    Put,
    /// Delete a resource.
    Delete,
}

/// A request: method, path and query, body, and the LFDI of the client's TLS certificate.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path (`/edev/1`).
    pub path: String,
    /// The query string without `?` (`s=0&l=10`), empty if none.
    pub query: String,
    /// The body (XML for `POST` and `PUT`).
    pub body: Vec<u8>,
    /// The LFDI of the certificate the client presented; `None` for a local operator without TLS.
    pub client: Option<HexBinary160>,
}

impl Request {
    /// A `GET` of `target` (`/edev?s=0&l=5`) by `client`.
    pub fn get(target: &str, client: Option<HexBinary160>) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: Method::Get,
            path: path.to_owned(),
            query: query.to_owned(),
            body: Vec::new(),
            client,
        }
    }

    /// A `PUT` of `body` to `path` by `client`.
    pub fn put(path: &str, body: Vec<u8>, client: Option<HexBinary160>) -> Self {
        Request {
            method: Method::Put,
            ..Request::post(path, body, client)
        }
    }

    /// A `POST` of `body` to `path` by `client`.
    pub fn post(path: &str, body: Vec<u8>, client: Option<HexBinary160>) -> Self {
        Request {
            method: Method::Post,
            path: path.to_owned(),
            query: String::new(),
            body,
            client,
        }
    }
}

/// The answer: status, `Location` of a created resource, and an XML body (empty for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status (200, 201, 204, 400, 403, 404, 405, 429).
    pub status: u16,
    /// The `Location` header: of a `201 Created`, and of a `204` to a `PUT` (where the resource is).
    pub location: Option<String>,
    /// The body: an IEEE 2030.5 document, or empty.
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn ok(body: Vec<u8>) -> Self {
        Reply {
            status: 200,
            location: None,
            body,
        }
    }

    pub(crate) fn created(location: String) -> Self {
        Reply {
            status: 201,
            location: Some(location),
            body: Vec::new(),
        }
    }

    pub(crate) fn no_content() -> Self {
        Reply {
            status: 204,
            location: None,
            body: Vec::new(),
        }
    }

    pub(crate) fn status(status: u16) -> Self {
        Reply {
            status,
            location: None,
            body: Vec::new(),
        }
    }

    /// 429 Too Many Requests: the client's quota of what the server keeps is used up.
    pub(crate) fn over_quota() -> Self {
        Reply::status(429)
    }

    /// `400 Bad Request` with an `Error` document (`reasonCode` 0: invalid request format).
    pub(crate) fn bad_request() -> Self {
        Reply::refused(0)
    }

    /// `400 Bad Request` with an `Error` document (`reasonCode` 1: invalid request values — a
    /// well-formed document whose values the server does not accept).
    pub(crate) fn invalid_values() -> Self {
        Reply::refused(1)
    }

    fn refused(reason_code: u16) -> Self {
        let mut body = Vec::new();
        crate::resources::Error {
            reason_code,
            ..Default::default()
        }
        .encode(&mut body);
        Reply {
            status: 400,
            location: None,
            body,
        }
    }
}

/// The most entries one list response carries, whatever `l` asks: clause 5.4 lets a server return fewer
/// than asked (`results` says how many), and a bounded page keeps every response small, so one client's
/// list request never holds the server for long.
pub const MAX_PAGE: usize = 255;

/// List paging from the query string (clause 5.4): `s` (first entry, default 0), `a` (after a time, for
/// time-ordered lists, default 0) and `l` (how many, default 1, at most [`MAX_PAGE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub(crate) start: usize,
    pub(crate) after: i64,
    pub(crate) limit: usize,
}

impl Paging {
    /// Reads `s`, `a` and `l`; other parameters are ignored; a malformed value is `None`.
    pub(crate) fn parse(query: &str) -> Option<Paging> {
        let mut paging = Paging {
            start: 0,
            after: 0,
            limit: 1,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "s" => paging.start = value.parse().ok()?,
                "a" => paging.after = value.parse().ok()?,
                "l" => paging.limit = value.parse::<usize>().ok()?.min(MAX_PAGE),
                _ => {}
            }
        }
        Some(paging)
    }

    /// The page of `items`.
    pub(crate) fn page<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.start.min(items.len());
        let end = start.saturating_add(self.limit).min(items.len());
        items.get(start..end).unwrap_or(&[])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_and_bounds() {
        assert_eq!(
            Paging::parse(""),
            Some(Paging {
                start: 0,
                after: 0,
                limit: 1
            })
        );
        let p = Paging::parse("s=2&l=10&x=1").unwrap();
        assert_eq!(p.page(&[0, 1, 2, 3, 4]), &[2, 3, 4]);
        assert_eq!(
            Paging::parse("s=9&l=3").unwrap().page(&[0, 1]),
            &[] as &[i32]
        );
        assert_eq!(Paging::parse("l=x"), None);
        assert_eq!(
            Paging::parse(&format!("s={}&l={}", usize::MAX, usize::MAX))
                .unwrap()
                .page(&[1]),
            &[] as &[i32]
        );
    }
}
