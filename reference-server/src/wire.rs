//! A listener whose connections can do two things hyper will not: put a body on a 204 answer
//! (the fault `delete-returns-body`), and close the connection instead of answering (the test
//! condition `--drop-every`).
//!
//! hyper never sends a body with 204 (RFC 9110 forbids one), so a handler cannot make it do
//! so. The faulty handler instead adds a marker header carrying the body in hex; this stream
//! removes the marker from the response head and writes the body right after the head.
//! Likewise, a response whose head carries the drop marker is never written: the write fails,
//! hyper closes the connection, and the client gets no answer at all. Without a marker every
//! byte passes through untouched.
//!
//! The conformant variants of `variant.rs` use markers too, for connection habits hyper has no
//! switch for: writing answers a few bytes at a time, closing a connection left idle, header
//! names in Title-Case, unusual reason phrases. Each marker is removed from the head, and
//! the habit holds for the rest of the connection.

use axum::serve::Listener;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The response header a handler sets to have its value (hex) written as a 204 body.
pub(crate) const INJECT_BODY_HEADER: &str = "x-reference-server-inject-body";

/// The response header that has the connection closed instead of the response written.
pub(crate) const DROP_CONNECTION_HEADER: &str = "x-reference-server-drop-connection";

/// Marker: write the rest of the connection this many bytes at a time.
pub(crate) const SMALL_WRITES_HEADER: &str = "x-reference-server-small-writes";

/// Marker: close the connection once it has been idle this many milliseconds.
pub(crate) const IDLE_CLOSE_HEADER: &str = "x-reference-server-idle-close-ms";

/// Marker: write header names in Title-Case.
pub(crate) const TITLE_CASE_HEADER: &str = "x-reference-server-title-case";

/// Marker: write an unusual reason phrase.
pub(crate) const REASON_HEADER: &str = "x-reference-server-odd-reason";

/// The connection habits the variant markers ask for.
#[derive(Debug, Default)]
struct Habits {
    piece: Option<usize>,
    idle: Option<std::time::Duration>,
    title_case: bool,
    odd_reason: bool,
}

pub(crate) struct WireListener(pub TcpListener);

impl Listener for WireListener {
    type Io = WireStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (WireStream, SocketAddr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        (
            WireStream {
                inner: stream,
                pending: Vec::new(),
                written: 0,
                dropped: false,
                habits: Habits::default(),
                idle_timer: None,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

pub(crate) struct WireStream {
    inner: TcpStream,
    /// Rewritten bytes not yet on the wire.
    pending: Vec<u8>,
    written: usize,
    /// A response was dropped: nothing more is written.
    dropped: bool,
    /// What the variant markers asked for so far on this connection.
    habits: Habits,
    /// Started when a read finds nothing to read, with `habits.idle` set.
    idle_timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn odd_reason(code: &str) -> &'static str {
    match code {
        "200" => "Fine Thanks",
        "201" => "Made It",
        "204" => "Gone Now",
        _ => "Something Happened",
    }
}

/// The head without the variant markers, with the habits they (and earlier ones) ask for
/// applied, when `buf` starts with a response head carrying one or habits are on.
fn rewrite_head(buf: &[u8], habits: &mut Habits) -> Option<Vec<u8>> {
    if !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let markers = [
        SMALL_WRITES_HEADER,
        IDLE_CLOSE_HEADER,
        TITLE_CASE_HEADER,
        REASON_HEADER,
    ];
    let marked = head.split("\r\n").skip(1).any(|line| {
        line.split_once(':')
            .is_some_and(|(n, _)| markers.iter().any(|m| n.trim().eq_ignore_ascii_case(m)))
    });
    if !marked && !habits.title_case && !habits.odd_reason {
        return None;
    }
    let mut lines = Vec::new();
    for (i, line) in head.split("\r\n").enumerate() {
        if i == 0 {
            lines.push(line.to_owned());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            lines.push(line.to_owned());
            continue;
        };
        let name = name.trim();
        let value = value.trim();
        if name.eq_ignore_ascii_case(SMALL_WRITES_HEADER) {
            habits.piece = value.parse().ok().filter(|n| *n > 0);
        } else if name.eq_ignore_ascii_case(IDLE_CLOSE_HEADER) {
            habits.idle = value.parse().ok().map(std::time::Duration::from_millis);
        } else if name.eq_ignore_ascii_case(TITLE_CASE_HEADER) {
            habits.title_case = true;
        } else if name.eq_ignore_ascii_case(REASON_HEADER) {
            habits.odd_reason = true;
        } else if habits.title_case {
            lines.push(format!("{}: {value}", title_case(name)));
        } else {
            lines.push(line.to_owned());
        }
    }
    if habits.odd_reason {
        let mut parts = lines[0].splitn(3, ' ');
        let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        lines[0] = format!("{version} {code} {}", odd_reason(code));
    }
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(&buf[head_end..]);
    Some(out)
}

/// True when `buf` starts with a response head that carries the drop marker.
fn drops(buf: &[u8]) -> bool {
    if !buf.starts_with(b"HTTP/1.") {
        return false;
    }
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    String::from_utf8_lossy(&buf[..head_end])
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .any(|(name, _)| name.trim().eq_ignore_ascii_case(DROP_CONNECTION_HEADER))
}

/// The head with the marker removed and the body appended, when `buf` starts with a 204 head
/// carrying the marker.
fn inject(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.starts_with(b"HTTP/1.1 204") {
        return None;
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut body = None;
    let mut out = Vec::with_capacity(buf.len());
    for (i, line) in head.split("\r\n").enumerate() {
        if let Some((name, value)) = line.split_once(':')
            && i > 0
            && name.trim().eq_ignore_ascii_case(INJECT_BODY_HEADER)
        {
            body = hex::decode(value.trim()).ok();
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let body = body?;
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    out.extend_from_slice(&buf[head_end + 4..]);
    Some(out)
}

impl WireStream {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let end = self.habits.piece.map_or(self.pending.len(), |p| {
                (self.written + p).min(self.pending.len())
            });
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..end]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for WireStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => {
                let Some(idle) = this.habits.idle else {
                    return Poll::Pending;
                };
                let timer = this
                    .idle_timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                ready!(timer.as_mut().poll(cx));
                // Idle too long: end of stream, so hyper closes the connection.
                tracing::debug!("closing an idle connection (variant idle-timeout)");
                Poll::Ready(Ok(()))
            }
            ready => {
                if buf.filled().len() > before {
                    this.idle_timer = None;
                }
                ready
            }
        }
    }
}

impl AsyncWrite for WireStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.dropped || drops(buf) {
            this.dropped = true;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the answer is dropped (--drop-every)",
            )));
        }
        ready!(this.poll_drain(cx))?;
        this.idle_timer = None;
        let rewritten = rewrite_head(buf, &mut this.habits);
        let head = rewritten.as_deref().unwrap_or(buf);
        if let Some(rewritten) = inject(head).or(rewritten) {
            this.pending = rewritten;
            this.written = 0;
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let piece = this.habits.piece.map_or(buf.len(), |p| p.min(buf.len()));
        Pin::new(&mut this.inner).poll_write(cx, &buf[..piece])
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_becomes_body() {
        let head = format!(
            "HTTP/1.1 204 No Content\r\ncontent-length: 2\r\n{INJECT_BODY_HEADER}: 7b7d\r\n\r\n"
        );
        let out = inject(head.as_bytes()).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 204 No Content\r\ncontent-length: 2\r\n\r\n{}"
        );
        assert!(inject(b"HTTP/1.1 204 No Content\r\n\r\n").is_none());
        assert!(inject(b"HTTP/1.1 200 OK\r\n\r\n").is_none());
    }

    #[test]
    fn drop_marker_is_seen_in_the_head_only() {
        let head = format!("HTTP/1.1 200 OK\r\n{DROP_CONNECTION_HEADER}: 1\r\n\r\n[]");
        assert!(drops(head.as_bytes()));
        let in_body = format!("HTTP/1.1 200 OK\r\n\r\n{DROP_CONNECTION_HEADER}: 1");
        assert!(!drops(in_body.as_bytes()));
        assert!(!drops(b"HTTP/1.1 200 OK\r\n\r\n"));
    }
}
