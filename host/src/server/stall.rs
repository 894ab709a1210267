//! Watching a connection for a client that stalls. A response body hands hyper its frames; hyper
//! asks for the next one as soon as it has room to write it. So a body that handed out a frame
//! and has not been asked again for the write timeout belongs to a client that reads nothing:
//! its connection is closed (see `conn.rs`), which drops the body and with it the synthesis.
//! A body waiting for its backend has been asked, and is the request timeout's business.
//! Also: whether a connection sent anything since the server last wrote to it.

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::watch,
};

/// When the response body now being written last handed out a frame that hyper has not followed
/// with another request; `None` while hyper waits on the body, or between responses.
pub type Handed = watch::Sender<Option<Instant>>;

/// A connection's watch: the bodies' end and the connection's end.
pub fn watch() -> (Arc<Handed>, watch::Receiver<Option<Instant>>) {
    let (tx, rx) = watch::channel(None);
    (Arc::new(tx), rx)
}

/// Resolves once a frame has been left unclaimed for `limit`.
pub async fn stalled(handed: &mut watch::Receiver<Option<Instant>>, limit: Duration) {
    loop {
        let at = *handed.borrow_and_update();
        let changed = match at {
            Some(at) => tokio::select! {
                () = tokio::time::sleep_until((at + limit).into()) => return,
                changed = handed.changed() => changed,
            },
            None => handed.changed().await,
        };
        if changed.is_err() {
            // No body can be watched any more; the connection ends some other way.
            std::future::pending::<()>().await;
        }
    }
}

/// A response body that reports to its connection's watch.
pub struct Watched {
    inner: Body,
    handed: Arc<Handed>,
}

impl Watched {
    pub fn new(inner: Body, handed: Arc<Handed>) -> Self {
        Self { inner, handed }
    }

    fn claimed(&self) {
        self.handed.send_if_modified(|at| at.take().is_some());
    }
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.claimed();
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            self.handed.send_replace(Some(Instant::now()));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.claimed();
    }
}

/// A socket that notes whether the client sent bytes since the server last wrote.
pub struct Heard {
    inner: TcpStream,
    heard: Arc<AtomicBool>,
}

/// The flag of a [`Heard`] socket.
pub struct HeardFlag(Arc<AtomicBool>);

impl HeardFlag {
    pub fn since_last_write(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Heard {
    pub fn new(inner: TcpStream) -> (Self, HeardFlag) {
        let heard = Arc::new(AtomicBool::new(false));
        (Self { inner, heard: heard.clone() }, HeardFlag(heard))
    }
}

impl AsyncRead for Heard {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.heard.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Heard {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        self.wrote(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Heard {
    fn wrote(&self, polled: &Poll<io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(n)) if *n > 0) {
            self.heard.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frame_left_unclaimed_fires_and_a_claimed_one_does_not() {
        let (handed, mut rx) = watch();
        let body = Watched::new(Body::from("abc"), handed.clone());
        let mut body = std::pin::pin!(body);
        let frame = std::future::poll_fn(|cx| http_body::Body::poll_frame(body.as_mut(), cx)).await;
        assert!(frame.is_some());
        assert!(handed.borrow().is_some(), "a frame handed out and not yet followed");
        let limit = Duration::from_millis(50);
        let fired = tokio::time::timeout(Duration::from_secs(10), stalled(&mut rx, limit)).await;
        assert!(fired.is_ok());
        // Asked again: claimed, and nothing fires however long we wait.
        let _ = std::future::poll_fn(|cx| http_body::Body::poll_frame(body.as_mut(), cx)).await;
        assert!(handed.borrow().is_none());
        let fired = tokio::time::timeout(limit * 6, stalled(&mut rx, limit)).await;
        assert!(fired.is_err());
    }
}
