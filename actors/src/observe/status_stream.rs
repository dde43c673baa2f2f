//! `/events`: the status view pushed to the dashboard as Server-Sent Events. Whenever the view
//! changes a client gets it — at most four times a second while trading, every change once the
//! shutdown starts — and when the web server stops, the last view goes out before the stream ends:
//! that is how the page keeps the final report after the server is gone.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::stream::Stream;
use tokio::sync::watch;

use crate::messages::status::StatusView;

/// While trading, updates to one client are at least this far apart.
const COALESCE: Duration = Duration::from_millis(250);
/// How often a coalescing pause looks whether the shutdown began or the server is stopping.
const LOOK_EVERY: Duration = Duration::from_millis(25);

/// The status view as one SSE event.
pub fn event(view: &StatusView) -> Bytes {
    let json = serde_json::to_string(view).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    Bytes::from(format!("event: status\ndata: {json}\n\n"))
}

struct Client {
    view: Arc<RwLock<StatusView>>,
    changes: watch::Receiver<u64>,
    first: bool,
    done: bool,
}

impl Client {
    fn snapshot(&self) -> (Bytes, bool) {
        let v = self.view.read().unwrap_or_else(|e| e.into_inner());
        (event(&v), v.shutting_down)
    }

    /// The next event, or None once the final one went out.
    async fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        if std::mem::take(&mut self.first) {
            return Some(self.snapshot().0);
        }
        // Sender gone: the server is stopping; the view as it stands is the last word.
        if self.changes.changed().await.is_err() {
            self.done = true;
            return Some(self.snapshot().0);
        }
        let (bytes, shutting_down) = self.snapshot();
        if !shutting_down {
            self.coalesce().await;
        }
        Some(bytes)
    }

    /// Pause before the next update, unless the shutdown starts or the server stops meanwhile.
    async fn coalesce(&self) {
        let mut waited = Duration::ZERO;
        while waited < COALESCE {
            tokio::time::sleep(LOOK_EVERY).await;
            waited += LOOK_EVERY;
            let stopping = self.changes.has_changed().is_err();
            if stopping || self.view.read().unwrap_or_else(|e| e.into_inner()).shutting_down {
                return;
            }
        }
    }
}

pub fn stream(view: Arc<RwLock<StatusView>>, changes: watch::Receiver<u64>) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
    let client = Client {
        view,
        changes,
        first: true,
        done: false,
    };
    futures_util::stream::unfold(client, |mut c| async move { c.next().await.map(|b| (Ok(b), c)) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[actix_rt::test]
    async fn a_client_gets_the_view_then_the_final_one_when_the_server_stops() {
        let view = Arc::new(RwLock::new(StatusView {
            run_id: "r1".into(),
            ..Default::default()
        }));
        let (tx, rx) = watch::channel(0u64);
        let mut s = Box::pin(stream(view.clone(), rx));
        let first = s.next().await.unwrap().unwrap();
        assert!(std::str::from_utf8(&first).unwrap().contains("\"run_id\":\"r1\""));
        view.write().unwrap().shutting_down = true;
        tx.send_modify(|v| *v += 1);
        let second = s.next().await.unwrap().unwrap();
        assert!(std::str::from_utf8(&second).unwrap().contains("\"shutting_down\":true"));
        view.write().unwrap().run_id = "final".into();
        drop(tx);
        let last = s.next().await.unwrap().unwrap();
        assert!(std::str::from_utf8(&last).unwrap().contains("\"run_id\":\"final\""));
        assert!(s.next().await.is_none(), "the stream ends after the final view");
    }
}
