//! The worker side: runs the handler for each queued delivery, a bounded number
//! at a time, and drains the queue on shutdown.

use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, error, info, info_span, Instrument};

use super::{snapshot, Counters, Delivery, EventHandler, Stats};

/// The receiving end of the delivery queue: runs the handler for each delivery.
pub struct WorkQueue<H> {
    pub(super) rx: mpsc::Receiver<Delivery>,
    pub(super) handler: Arc<H>,
    pub(super) workers: usize,
    pub(super) handler_timeout: Duration,
    pub(super) counters: Arc<Counters>,
    pub(super) capacity: usize,
}

impl<H> fmt::Debug for WorkQueue<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkQueue")
            .field("workers", &self.workers)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// How the work queue ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The counters at the end.
    pub stats: Stats,
    /// Deliveries accepted (`202`) whose handler had not finished when the
    /// shutdown grace period ran out. They are lost; GitHub shows them as delivered.
    pub unfinished: u64,
}

impl<H: EventHandler> WorkQueue<H> {
    /// Counters shared with the router.
    pub fn stats(&self) -> Stats {
        snapshot(
            &self.counters,
            (self.capacity - self.rx.capacity()).min(self.capacity) as u64,
        )
    }

    /// Runs deliveries through the handler, at most `workers` at a time, until
    /// `stop` resolves. Then it closes the queue (the router answers `503` from
    /// then on), handles what was already queued and waits for running handlers.
    /// It also ends if every sender (router) is gone.
    ///
    /// This future does not bound the drain itself; [`serve`](super::serve) wraps it in the
    /// shutdown grace period.
    pub async fn run(mut self, stop: impl Future<Output = ()> + Send) {
        let permits = Arc::new(Semaphore::new(self.workers));
        let mut running = JoinSet::new();
        tokio::pin!(stop);
        let mut stopping = false;
        loop {
            while let Some(done) = running.try_join_next() {
                self.reap(done);
            }
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                break;
            };
            let next = if stopping {
                self.rx.recv().await
            } else {
                tokio::select! {
                    next = self.rx.recv() => next,
                    () = &mut stop => {
                        info!(queued = self.rx.len(), "stopping: queue closed, draining");
                        self.rx.close();
                        stopping = true;
                        continue;
                    }
                }
            };
            let Some(delivery) = next else { break };
            let handler = Arc::clone(&self.handler);
            let timeout = self.handler_timeout;
            let span = info_span!(
                "delivery",
                id = %delivery.delivery_id,
                event = %delivery.event
            );
            let counters = Arc::clone(&self.counters);
            running.spawn(
                async move {
                    let _permit = permit;
                    // The handler runs in its own task so that a panic is caught
                    // and counted here; the guard aborts it if this task is aborted.
                    let work = async move {
                        tokio::time::timeout(timeout, handler.handle(delivery)).await
                    };
                    let mut inner = AbortOnDrop(tokio::spawn(work.in_current_span()));
                    let ok = match (&mut inner.0).await {
                        Ok(Ok(Ok(()))) => {
                            debug!("delivery handled");
                            true
                        }
                        Ok(Ok(Err(err))) => {
                            error!(error = %err, "delivery handler failed");
                            false
                        }
                        Ok(Err(_)) => {
                            error!(?timeout, "delivery handler timed out");
                            false
                        }
                        Err(err) => {
                            error!(error = %err, "delivery handler panicked");
                            false
                        }
                    };
                    let counter = if ok {
                        &counters.handled
                    } else {
                        &counters.failed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                .instrument(span),
            );
        }
        while let Some(done) = running.join_next().await {
            self.reap(done);
        }
        info!("work queue drained");
    }

    fn reap(&self, done: Result<(), tokio::task::JoinError>) {
        // Outcomes are counted inside the task; only a failure of the wrapper
        // itself (it does not panic) would show up here.
        if let Err(err) = done {
            if !err.is_cancelled() {
                error!(error = %err, "delivery task failed");
            }
        }
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
