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
//!
//! The listener also plays an outage ([`Outage`]): while it is down the
//! listening socket is closed, so a client's connect is refused before a byte
//! of its request is written, the one transport error a sender may always
//! retry. When the outage ends the same address is bound again.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Whether the API is reachable, shared by the listener, every connection
/// handle and (for in-process tests) [`crate::Running`].
#[derive(Debug, Clone)]
pub struct Outage(Arc<watch::Sender<OutageState>>);

/// The outage's current state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct OutageState {
    down: bool,
    /// Bumped by every change, so a timer ends only the outage it started.
    epoch: u64,
}

impl Default for Outage {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(OutageState::default())))
    }
}

impl Outage {
    /// Closes (`true`) or reopens (`false`) the listening socket. Connections
    /// already accepted are left alone.
    pub fn set_down(&self, down: bool) -> u64 {
        let mut epoch = 0;
        self.0.send_modify(|state| {
            state.epoch += 1;
            state.down = down;
            epoch = state.epoch;
        });
        epoch
    }

    /// Whether the listener is down now.
    pub fn is_down(&self) -> bool {
        self.0.borrow().down
    }

    /// Goes down now and, when `duration` is given, up again after it
    /// (unless another change came first). Must run inside the runtime.
    pub fn down_for(&self, duration: Option<Duration>) {
        let epoch = self.set_down(true);
        if let Some(duration) = duration {
            let outage = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(duration).await;
                outage.0.send_if_modified(|state| {
                    let ours = state.epoch == epoch;
                    if ours {
                        state.down = false;
                        state.epoch += 1;
                    }
                    ours
                });
            });
        }
    }

    /// A receiver that sees every later change.
    fn watch(&self) -> watch::Receiver<OutageState> {
        self.0.subscribe()
    }
}

/// A TCP listener whose connections can be reset by their handler, and
/// which closes its socket during an [`Outage`].
pub struct ResettableListener {
    /// `None` while down.
    listener: Option<TcpListener>,
    /// Where to bind again after an outage.
    addr: SocketAddr,
    outage: Outage,
    changes: watch::Receiver<OutageState>,
}

impl ResettableListener {
    /// Wraps a bound listener; `outage` can take it down later.
    pub fn new(listener: TcpListener, outage: Outage) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let changes = outage.watch();
        Ok(Self { listener: Some(listener), addr, outage, changes })
    }
}

/// The handler's side of a connection: raising it resets the connection;
/// it also reaches the sandbox's [`Outage`].
#[derive(Debug, Clone, Default)]
pub struct ConnHandle {
    reset: Arc<AtomicBool>,
    outage: Outage,
}

impl ConnHandle {
    /// Marks the connection to be closed without answering.
    pub fn reset(&self) {
        self.reset.store(true, Ordering::Release);
    }

    /// The sandbox's outage switch.
    pub fn outage(&self) -> &Outage {
        &self.outage
    }
}

/// `POST /_sandbox/down?ms=N`: close the listening socket now and open it
/// again N ms later (`ms` is required: while down, this route is unreachable
/// too). The answer carries `Connection: close` so no kept-alive connection
/// slips past the outage.
pub async fn down_route(
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let ms = params.get("ms").and_then(|ms| ms.parse::<u64>().ok());
    let Some(ms) = ms else {
        let error = "expected /_sandbox/down?ms=N (N in milliseconds, the outage's length)";
        return (StatusCode::BAD_REQUEST, Json(json!({ "ok": false, "error": error }))).into_response();
    };
    conn.outage.down_for(Some(Duration::from_millis(ms)));
    ([(axum::http::header::CONNECTION, "close")], Json(json!({ "ok": true, "down_ms": ms }))).into_response()
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
            if self.changes.borrow_and_update().down {
                // Closing the socket makes the kernel refuse new connections.
                self.listener = None;
                let _ = self.changes.changed().await;
                continue;
            }
            let Some(listener) = &self.listener else {
                match TcpListener::bind(self.addr).await {
                    Ok(listener) => self.listener = Some(listener),
                    Err(error) => {
                        eprintln!("pagecast-sandbox: cannot bind {} again after an outage: {error}", self.addr);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                continue;
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = self.changes.changed() => continue,
            };
            match accepted {
                Ok((stream, _peer)) => {
                    if self.outage.is_down() {
                        // Raced with the outage's start: refuse it too.
                        let _ = stream.set_zero_linger();
                        continue;
                    }
                    // Small answers go out at once; benchmarks measure latency.
                    let _ = stream.set_nodelay(true);
                    let handle = ConnHandle { reset: Arc::default(), outage: self.outage.clone() };
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
        if !self.reset.reset.load(Ordering::Acquire) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Connects until the result is `refused` (or 2 s pass), so the test
    /// waits for the acceptor task instead of a fixed time.
    async fn until(addr: SocketAddr, refused: bool) {
        for _ in 0..400 {
            match TcpStream::connect(addr).await {
                // A connect racing the close may see a reset; wait for refusal.
                Err(error) if refused && error.kind() == io::ErrorKind::ConnectionRefused => return,
                Ok(_) if !refused => return,
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        panic!("connections never became refused={refused}");
    }

    #[tokio::test]
    async fn an_outage_refuses_connects_and_the_same_address_comes_back() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let outage = Outage::default();
        let mut wrapped = ResettableListener::new(listener, outage.clone()).expect("wrap");
        tokio::spawn(async move {
            loop {
                let _ = wrapped.accept().await;
            }
        });
        until(addr, false).await;
        outage.set_down(true);
        assert!(outage.is_down());
        until(addr, true).await;
        outage.set_down(false);
        until(addr, false).await;
    }

    #[tokio::test]
    async fn a_timed_outage_ends_by_itself_unless_replaced() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let outage = Outage::default();
        let mut wrapped = ResettableListener::new(listener, outage.clone()).expect("wrap");
        tokio::spawn(async move {
            loop {
                let _ = wrapped.accept().await;
            }
        });
        outage.down_for(Some(Duration::from_millis(30)));
        until(addr, true).await;
        until(addr, false).await;
        assert!(!outage.is_down());

        // A later change wins over an earlier timer.
        outage.down_for(Some(Duration::from_millis(20)));
        outage.set_down(true);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(outage.is_down(), "the first timer must not end the second outage");
        outage.set_down(false);
    }
}
