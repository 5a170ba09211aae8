//! An async façade for tokio callers (a terminal daemon): the chain runs on a
//! dedicated thread, never on the runtime's worker threads, and each call has a
//! deadline derived from a per-hook time budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use crate::manager::{PluginInfo, PluginManager};

/// Why an async call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum AsyncError {
    /// The chain did not answer within the call's deadline. The chain keeps running
    /// on its thread; the hook that overran is counted as a failure of its plugin
    /// when (if) it returns. The caller should pass its value on unchanged.
    #[error("plugin chain did not answer within {0:?}; the value should pass on unchanged")]
    Timeout(Duration),
    /// An earlier call overran its deadline and the chain is still busy with it (a
    /// hook that never returns keeps it busy for good). The call was not queued.
    #[error("plugin chain is still busy with a call that overran its deadline")]
    Busy,
    /// The chain's thread has stopped.
    #[error("plugin chain thread has stopped")]
    Stopped,
    /// The chain's thread could not be started.
    #[error("cannot start the plugin chain thread: {0}")]
    Spawn(#[source] std::io::Error),
}

type Job = Box<dyn FnOnce(&mut PluginManager) + Send>;

/// Runs a [`PluginManager`] on its own thread and offers its dispatch methods as
/// `async fn`s.
///
/// The manager's per-hook budget is set to `hook_budget`: a hook that returns late is
/// counted as a failure (three in a row disable the plugin) and its result dropped.
/// A caller waits at most `hook_budget × (plugins + 1)` for a whole chain. A hook
/// cannot be interrupted (the Fusabi VM has no instruction budget), so a hook that
/// never returns blocks the chain thread for good; callers then get
/// [`AsyncError::Busy`] at once instead of queueing behind it.
#[derive(Debug)]
pub struct AsyncPluginHost {
    tx: mpsc::Sender<Job>,
    budget: Duration,
    plugins: Arc<AtomicUsize>,
    overdue: Arc<AtomicUsize>,
}

impl AsyncPluginHost {
    /// Move `manager` onto a new thread with the given per-hook budget.
    pub fn spawn(mut manager: PluginManager, hook_budget: Duration) -> Result<Self, AsyncError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let plugins = Arc::new(AtomicUsize::new(manager.len()));
        let overdue = Arc::new(AtomicUsize::new(0));
        manager.set_hook_budget(Some(hook_budget));
        let count = Arc::clone(&plugins);
        std::thread::Builder::new()
            .name("scarab-plugins".to_owned())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut manager);
                    count.store(manager.len(), Ordering::Relaxed);
                }
            })
            .map_err(AsyncError::Spawn)?;
        Ok(Self {
            tx,
            budget: hook_budget,
            plugins,
            overdue,
        })
    }

    /// The per-hook budget.
    pub fn hook_budget(&self) -> Duration {
        self.budget
    }

    /// Run `f` on the manager's thread and wait for its result, up to the deadline.
    pub async fn with_manager<R, F>(&self, f: F) -> Result<R, AsyncError>
    where
        R: Send + 'static,
        F: FnOnce(&mut PluginManager) -> R + Send + 'static,
    {
        if self.overdue.load(Ordering::Acquire) > 0 {
            return Err(AsyncError::Busy);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let overdue = Arc::clone(&self.overdue);
        let job: Job = Box::new(move |m| {
            if tx.send(f(m)).is_err() {
                // The caller gave up on this call: it is no longer overdue.
                overdue.fetch_sub(1, Ordering::AcqRel);
            }
        });
        self.tx.send(job).map_err(|_| AsyncError::Stopped)?;
        let n = u32::try_from(self.plugins.load(Ordering::Relaxed)).unwrap_or(u32::MAX);
        let deadline = self.budget.saturating_mul(n.saturating_add(1));
        let mut rx = rx;
        match tokio::time::timeout(deadline, &mut rx).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err(AsyncError::Stopped),
            Err(_) => {
                self.overdue.fetch_add(1, Ordering::AcqRel);
                // Close our end first so the job sees the caller is gone; if it
                // finished in between, take its result after all.
                rx.close();
                match rx.try_recv() {
                    Ok(r) => {
                        self.overdue.fetch_sub(1, Ordering::AcqRel);
                        Ok(r)
                    }
                    Err(_) => Err(AsyncError::Timeout(deadline)),
                }
            }
        }
    }

    /// [`PluginManager::dispatch_output`] off the runtime's threads.
    pub async fn dispatch_output(&self, line: String) -> Result<String, AsyncError> {
        self.with_manager(move |m| m.dispatch_output(&line).into_owned())
            .await
    }

    /// [`PluginManager::dispatch_output_batch`] off the runtime's threads.
    pub async fn dispatch_output_batch(
        &self,
        lines: Vec<String>,
    ) -> Result<Vec<String>, AsyncError> {
        self.with_manager(move |m| m.dispatch_output_batch(&lines))
            .await
    }

    /// [`PluginManager::dispatch_input`] off the runtime's threads.
    pub async fn dispatch_input(&self, bytes: Vec<u8>) -> Result<Vec<u8>, AsyncError> {
        self.with_manager(move |m| m.dispatch_input(&bytes).into_owned())
            .await
    }

    /// [`PluginManager::dispatch_resize`] off the runtime's threads.
    pub async fn dispatch_resize(&self, cols: u16, rows: u16) -> Result<(), AsyncError> {
        self.with_manager(move |m| m.dispatch_resize(cols, rows))
            .await
    }

    /// [`PluginManager::list`].
    pub async fn list(&self) -> Result<Vec<PluginInfo>, AsyncError> {
        self.with_manager(|m| m.list()).await
    }
}
