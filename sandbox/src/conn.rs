//! Connections a handler can cut: the `reset` fault.
//!
//! A "reset" must read the whole request and then close the TCP connection
//! without a byte of response, which is how a crashed proxy or a dropped
//! link looks to pagecast (the ambiguous "maybe delivered" case). An axum
//! handler cannot reach its socket, so the listener wraps each stream with a
//! shared flag: the handler raises it through [`ConnHandle`] (an axum
//! `ConnectInfo`), and the next read or write of that stream fails. hyper
//! then drops the connection, and a zero linger turns the close into a
//! TCP RST.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener whose connections can be reset by their handler.
pub struct ResettableListener(pub TcpListener);

/// The handler's side of a connection: raising it resets the connection.
#[derive(Debug, Clone, Default)]
pub struct ConnHandle(Arc<AtomicBool>);

impl ConnHandle {
    /// Marks the connection to be closed without answering.
    pub fn reset(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

impl Listener for ResettableListener {
    type Io = ResettableStream;
    /// axum passes the "address" to `ConnectInfo`; here it is the handle.
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _peer)) => {
                    // Small answers go out at once; benchmarks measure latency.
                    let _ = stream.set_nodelay(true);
                    let handle = ConnHandle::default();
                    let io = ResettableStream { inner: stream, reset: handle.clone() };
                    return (io, handle);
                }
                // Usually out of file descriptors: wait instead of spinning.
                Err(error) => {
                    eprintln!("pagecast-sandbox: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Not an address: `axum::serve` never asks, and the listener's real
    /// address is read from the `TcpListener` before wrapping it.
    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle::default())
    }
}

/// A TCP stream that fails every operation once its handle is raised.
pub struct ResettableStream {
    inner: TcpStream,
    reset: ConnHandle,
}

impl ResettableStream {
    /// The error to report when the handle is raised, else `None`.
    fn cut(&self) -> Option<io::Error> {
        if !self.reset.0.load(Ordering::Acquire) {
            return None;
        }
        // Zero linger: closing sends RST instead of FIN.
        let _ = self.inner.set_zero_linger();
        Some(io::Error::new(io::ErrorKind::ConnectionReset, "sandbox reset fault"))
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.cut() {
            Some(error) => Poll::Ready(Err(error)),
            None => Pin::new(&mut this.inner).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.cut() {
            Some(error) => Poll::Ready(Err(error)),
            None => Pin::new(&mut this.inner).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.cut() {
            Some(error) => Poll::Ready(Err(error)),
            None => Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.cut() {
            Some(error) => Poll::Ready(Err(error)),
            None => Pin::new(&mut this.inner).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
