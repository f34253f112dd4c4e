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

use axum::serve::Listener;
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
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
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
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
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
        if let Some(rewritten) = inject(buf) {
            this.pending = rewritten;
            this.written = 0;
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
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
