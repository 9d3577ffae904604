//! Connections: HTTP/1.1 over TCP, or TLS (rustls) when the operator gives
//! a certificate. Each connection is bounded in time and the whole server
//! in number:
//! - a request's headers (and, on a kept connection, the wait for the next
//!   request) must arrive within `header_timeout`;
//! - a connection that moves no byte either way for `idle_timeout` while
//!   we wait to read or write is closed (a stalled upload or download);
//! - at most `max_connections` are open; when a new one arrives at the
//!   cap, the oldest connection that has not yet sent a whole request is
//!   closed to make room, so idle sockets cannot crowd real clients out.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tokio_rustls::rustls;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::edge::Peer;

/// How connections are bounded.
#[derive(Clone, Debug)]
pub struct ListenConfig {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// HTTPS when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            tls: None,
        }
    }
}

/// Below the process's open-file limit (raised to its hard limit first),
/// with room for the database, blobs and spool files.
pub fn default_max_connections() -> usize {
    let soft = raise_open_file_limit();
    usize::try_from(soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(256)
        .clamp(16, 16_384)
}

/// Raises this process's soft limit on open files to its hard limit and
/// returns it.
pub fn raise_open_file_limit() -> u64 {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let mut limit = getrlimit(Resource::Nofile);
        if let Some(hard) = limit.maximum {
            if limit.current.is_some_and(|soft| soft < hard) {
                limit.current = Some(hard);
                let _ = setrlimit(Resource::Nofile, limit);
            }
        }
        getrlimit(Resource::Nofile).current.unwrap_or(1 << 20)
    }
    #[cfg(not(unix))]
    {
        4352
    }
}

/// Reads a PEM certificate chain and private key for `--tls-cert` and
/// `--tls-key`.
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .context("reading the TLS certificate (PEM)")?;
    anyhow::ensure!(
        !certs.is_empty(),
        "the TLS certificate file holds no certificate"
    );
    let key = PrivateKeyDer::from_pem_slice(key_pem).context("reading the TLS key (PEM)")?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS versions")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the TLS key does not match its certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting, lets requests under way finish (up to 30 s) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ListenConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let registry = Arc::new(Registry::new(config.max_connections));
    let stopping = CancellationToken::new();
    let tls = config.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let config = Arc::new(config);
    let mut shutdown = std::pin::pin!(shutdown);
    let tracker = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (tcp, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, or a connection reset before we
                // took it: wait a moment rather than spin.
                tracing::warn!("accepting a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(conn) = registry.admit() else {
            tracing::warn!(event = "connection_refused", %addr, "at the connection limit");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (app, config, tls, stopping) =
            (app.clone(), config.clone(), tls.clone(), stopping.clone());
        tracker.spawn(async move {
            let _ = connection(tcp, addr, conn, app, &config, tls, stopping).await;
        });
    }
    stopping.cancel();
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(30), tracker.wait()).await;
    Ok(())
}

async fn connection(
    tcp: TcpStream,
    addr: SocketAddr,
    conn: Ticket,
    app: Router,
    config: &ListenConfig,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stopping: CancellationToken,
) -> Result<()> {
    let io = Timed::new(tcp, config.idle_timeout);
    match tls {
        None => http(io, addr, false, conn, app, config, stopping).await,
        Some(acceptor) => {
            let shed = conn.shed.clone();
            let handshake = tokio::time::timeout(config.header_timeout, acceptor.accept(io));
            let stream = tokio::select! {
                s = handshake => s.context("TLS handshake timed out")?.context("TLS handshake")?,
                () = shed.cancelled() => return Ok(()),
            };
            http(stream, addr, true, conn, app, config, stopping).await
        }
    }
}

async fn http<I>(
    io: I,
    addr: SocketAddr,
    tls: bool,
    conn: Ticket,
    app: Router,
    config: &ListenConfig,
    stopping: CancellationToken,
) -> Result<()>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = Peer { addr, tls };
    let shed = conn.shed.clone();
    let conn = Arc::new(conn);
    let on_request = Arc::clone(&conn);
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            on_request.requested();
            req.extensions_mut().insert(peer);
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(64 * 1024)
        .keep_alive(true);
    let served = builder.serve_connection(TokioIo::new(io), service);
    let mut served = std::pin::pin!(served);
    tokio::select! {
        r = served.as_mut() => return r.map_err(Into::into),
        () = shed.cancelled() => return Ok(()),
        () = stopping.cancelled() => served.as_mut().graceful_shutdown(),
    }
    served.await.map_err(Into::into)
}

/// The open connections, and those that have not yet sent a request.
#[derive(Debug)]
struct Registry {
    max: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    open: usize,
    next: u64,
    /// Not yet a whole request, oldest first: the ones shed at the cap.
    fresh: BTreeMap<u64, CancellationToken>,
}

impl Registry {
    fn new(max: usize) -> Registry {
        Registry {
            max: max.max(1),
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a new connection, shedding the oldest fresh one at the
    /// cap; `None` when every open connection is busy with requests.
    fn admit(self: &Arc<Self>) -> Option<Ticket> {
        let mut inner = self.lock();
        if inner.open >= self.max {
            let (_, oldest) = inner.fresh.pop_first()?;
            oldest.cancel();
            tracing::info!(
                event = "connection_shed",
                "closed an idle connection to make room"
            );
        } else {
            inner.open += 1;
        }
        let id = inner.next;
        inner.next += 1;
        let shed = CancellationToken::new();
        inner.fresh.insert(id, shed.clone());
        Some(Ticket {
            registry: Arc::clone(self),
            id,
            shed,
            requested: AtomicBool::new(false),
        })
    }
}

/// One admitted connection; gives its place back when dropped.
#[derive(Debug)]
struct Ticket {
    registry: Arc<Registry>,
    id: u64,
    shed: CancellationToken,
    requested: AtomicBool,
}

impl Ticket {
    /// The connection sent a whole request: it is no longer shed.
    fn requested(&self) {
        if !self.requested.swap(true, Ordering::Relaxed) {
            self.registry.lock().fresh.remove(&self.id);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        inner.fresh.remove(&self.id);
        // A shed connection's place went to the one that shed it.
        if !self.shed.is_cancelled() {
            inner.open -= 1;
        }
    }
}

/// A stream that fails with `TimedOut` when no byte has moved either way
/// for `idle` while it is waited on.
struct Timed<T> {
    inner: T,
    idle: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<T> Timed<T> {
    fn new(inner: T, idle: Duration) -> Timed<T> {
        let now = Instant::now();
        Timed {
            inner,
            idle,
            last: now,
            timer: Box::pin(tokio::time::sleep_until(now + idle)),
        }
    }

    fn moved(&mut self) {
        self.last = Instant::now();
    }

    /// Called when the inner stream is not ready: an error once idle too
    /// long, else a wake-up at the deadline.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let deadline = self.last + self.idle;
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "no data moved for too long",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Timed<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Timed<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    this.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    this.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_fresh_connection_makes_room() {
        let r = Arc::new(Registry::new(2));
        let a = r.admit().unwrap();
        let b = r.admit().unwrap();
        b.requested();
        let c = r.admit().unwrap();
        assert!(a.shed.is_cancelled(), "the fresh one went");
        assert!(!b.shed.is_cancelled());
        c.requested();
        assert!(r.admit().is_none(), "every open connection is busy");
        drop(a);
        assert_eq!(r.lock().open, 2);
        drop(b);
        assert_eq!(r.lock().open, 1);
        let _d = r.admit().unwrap();
        assert_eq!(r.lock().open, 2);
    }
}
