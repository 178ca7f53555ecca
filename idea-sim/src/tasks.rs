//! The tasks a served device runs, supervised: a server never stops on its own, so any of them ending is the
//! device failing, and whoever serves it hears why ([`Tasks::failed`]) instead of waiting on a dead device.

use std::fmt::Display;
use std::future::Future;
use tokio::task::JoinSet;

/// A device's running tasks. Dropping it stops them.
#[derive(Debug, Default)]
pub struct Tasks(JoinSet<String>);

impl Tasks {
    /// Runs `task`, named `what` in the report of its end.
    pub fn spawn<T, E>(&mut self, what: &'static str, task: T)
    where
        T: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        self.0.spawn(async move {
            match task.await {
                Ok(()) => format!("{what} stopped"),
                Err(e) => format!("{what} failed: {e}"),
            }
        });
    }

    /// Waits until a task ends and says which and why; waits for ever when there is none.
    pub async fn failed(&mut self) -> String {
        match self.0.join_next().await {
            Some(Ok(why)) => why,
            Some(Err(e)) if e.is_panic() => "a serving task panicked".to_owned(),
            Some(Err(_)) => "a serving task was cancelled".to_owned(),
            None => std::future::pending().await,
        }
    }

    /// How many tasks are running.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no task is running.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_first_task_to_end_is_reported_with_its_reason() {
        let mut tasks = Tasks::default();
        tasks.spawn::<_, std::convert::Infallible>("the server", std::future::pending());
        tasks.spawn("the simulation", async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err("the model diverged")
        });
        assert_eq!(tasks.len(), 2);
        let why = tokio::time::timeout(Duration::from_secs(5), tasks.failed())
            .await
            .unwrap();
        assert_eq!(why, "the simulation failed: the model diverged");
        tasks.spawn::<_, String>("the port", async { Ok(()) });
        assert_eq!(tasks.failed().await, "the port stopped");
    }

    #[tokio::test]
    async fn without_tasks_nothing_is_reported() {
        let mut tasks = Tasks::default();
        assert!(tasks.is_empty());
        assert!(
            tokio::time::timeout(Duration::from_millis(50), tasks.failed())
                .await
                .is_err()
        );
    }
}
