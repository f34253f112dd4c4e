//! Hostile clients cannot starve the server: a connection must send its request head within
//! a deadline (a slow-header client is cut off), an idle keep-alive connection is closed after
//! a while, and at most a bounded number of connections are served at once, well below a
//! common descriptor limit, so that the excess waits in the kernel's backlog instead of
//! making `accept` fail for everyone.

use axum::serve::Listener;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// Bounds on what one client can hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From accepting a connection (or the end of its last answer) to the end of the next
    /// request's head.
    pub header_read_timeout: Duration,
    /// How long a connection may stay silent after an answer before it is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; the next one is accepted when one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
        }
    }
}

pub(crate) struct Guarded<L> {
    inner: L,
    permits: Arc<Semaphore>,
    limits: ConnectionLimits,
}

impl<L> Guarded<L> {
    pub(crate) fn new(inner: L, limits: ConnectionLimits) -> Self {
        Guarded {
            inner,
            permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
        }
    }
}

impl<L> Listener for Guarded<L>
where
    L: Listener,
    L::Io: Unpin,
{
    type Io = GuardedStream<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Never closed, so acquiring only waits; a closed one would mean serving nothing.
        let permit = match self.permits.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => std::future::pending().await,
        };
        let (io, addr) = self.inner.accept().await;
        let deadline = Box::pin(tokio::time::sleep(self.limits.header_read_timeout));
        (
            GuardedStream {
                inner: io,
                _permit: permit,
                limits: self.limits,
                deadline: Some(deadline),
                matched: 0,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

pub(crate) struct GuardedStream<S> {
    inner: S,
    _permit: OwnedSemaphorePermit,
    limits: ConnectionLimits,
    /// Set while a request head is awaited: when it fires, reads fail and hyper closes.
    deadline: Option<Pin<Box<Sleep>>>,
    /// How much of the `\r\n\r\n` that ends a head the last bytes read matched.
    matched: usize,
}

const END_OF_HEAD: &[u8] = b"\r\n\r\n";

impl<S: AsyncRead + Unpin> AsyncRead for GuardedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no complete request head in time",
            )));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && self.deadline.is_some()
        {
            let mut matched = self.matched;
            let mut done = false;
            for b in &buf.filled()[before..] {
                matched = if *b == END_OF_HEAD[matched] {
                    matched + 1
                } else if *b == END_OF_HEAD[0] {
                    1
                } else {
                    0
                };
                if matched == END_OF_HEAD.len() {
                    done = true;
                    break;
                }
            }
            self.matched = if done { 0 } else { matched };
            if done {
                self.deadline = None;
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for GuardedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled
            && n > 0
            && self.deadline.is_none()
        {
            // An answer is going out: the next request (or the close) is awaited from here.
            let idle = self
                .limits
                .idle_timeout
                .max(self.limits.header_read_timeout);
            self.deadline = Some(Box::pin(tokio::time::sleep(idle)));
            self.matched = 0;
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled
            && n > 0
            && self.deadline.is_none()
        {
            let idle = self
                .limits
                .idle_timeout
                .max(self.limits.header_read_timeout);
            self.deadline = Some(Box::pin(tokio::time::sleep(idle)));
            self.matched = 0;
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
