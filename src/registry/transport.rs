//! The one side effect the registry client has: sending an HTTP request. The browser implements it with
//! `fetch`, native code and tests with any HTTP client.

/// An HTTP request with its whole body (layers are assembled in memory in the browser anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl HttpRequest {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        HttpRequest {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }
}

/// `scheme://authority` of an absolute URL (`None` for a relative one): the part a browser compares to decide
/// whether two URLs share an origin (default ports are not folded: the companion's URLs are written one way).
pub fn url_origin(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    let is_scheme = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return None;
    }
    let rest = url[colon + 1..].strip_prefix("//").unwrap_or(&url[colon + 1..]);
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + authority_len])
}

/// A response; header names are matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The transport could not get an answer at all (connection refused, CORS refused, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// Sends requests. Not `Send`: in the browser, futures live on the one JS thread.
#[allow(async_fn_in_trait)]
pub trait Transport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Like [`Transport::send`], but a successful (2xx) answer's body goes to `on_chunk` piece by piece as it
    /// arrives, and the returned response's body is empty; an unsuccessful answer's body is returned whole (it
    /// is an error message). For answers that last: `docker logs -f`, a RUN step's output. The default waits for
    /// the whole body and hands it over in one piece; transports that can stream override it, and wrappers
    /// forward it.
    async fn send_streaming(
        &self,
        request: HttpRequest,
        on_chunk: &mut dyn FnMut(&[u8]),
    ) -> Result<HttpResponse, TransportError> {
        let mut response = self.send(request).await?;
        if response.is_success() {
            on_chunk(&std::mem::take(&mut response.body));
        }
        Ok(response)
    }
}

/// A borrowed transport is a transport: one page-wide `fetch` serves many short-lived clients.
impl<T: Transport> Transport for &T {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request).await
    }

    async fn send_streaming(
        &self,
        request: HttpRequest,
        on_chunk: &mut dyn FnMut(&[u8]),
    ) -> Result<HttpResponse, TransportError> {
        (**self).send_streaming(request, on_chunk).await
    }
}

/// Splits a streamed body into lines (NDJSON): feed it chunks, get back each complete line without its `\n`.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// The complete lines `chunk` finishes, in order; a partial last line waits for the next chunk.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            lines.push(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        lines
    }

    /// What is left after the last newline (a body that does not end with one).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.is_empty()).then(|| String::from_utf8_lossy(&rest).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_come_out_whole() {
        let mut s = LineSplitter::default();
        assert_eq!(s.feed(b"{\"a\":1}\n{\"b\""), vec!["{\"a\":1}"]);
        assert!(s.feed(b":2").is_empty());
        assert_eq!(s.feed(b"}\n\nx"), vec!["{\"b\":2}", ""]);
        assert_eq!(s.finish().as_deref(), Some("x"));
        assert_eq!(s.finish(), None);
    }
}
