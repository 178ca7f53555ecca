//! The cells' device I/O spread over the cores, each request answered on the thread that sent it.
//!
//! Every cell's hub and meter are served, and its links to them driven, on one *shard*: a single-threaded
//! tokio runtime of their own. A Modbus request and its answer then cross 127.0.0.1 between two tasks of the
//! same thread — the kernel hands the bytes over without waking another thread — and the shards run side by
//! side, one thread each, while the conductor waits. Measured on this 2-core machine: a bare loopback Modbus
//! read among 1,000 connections costs about 6 µs of CPU this way against 11 µs with the clients on the
//! conductor's thread and the servers on the shared runtime's workers; the devices phase of a 1,000-cell,
//! two-hour run fell from 4.2–4.3 s to 3.5 s, and to 2.6 s with [`WINDOW`].
//!
//! A shard's runtime runs only while the conductor has work for it ([`Shards::run_each`]): between steps its
//! devices wait, as the conductor would have made them wait anyway.
//! What a shard runs never depends on the other shards, so results do not depend on which ran first.

use crate::error::{Result, no_answer};

/// How many of a shard's cells talk to their devices at once. All of them at once was measured slower: with
/// a thousand cells, two thousand connections in flight at the same time keep evicting one another's state
/// (the kernel's sockets, the tasks) from the caches, and each exchange cost about a third more CPU than in
/// windows of 4 to 32 (the devices phase of a 1,000-cell, two-hour run: 3.5 s → 2.6 s); fewer than that leaves too little to
/// do while one answer is on its way.
const WINDOW: usize = 16;

/// The shards: single-threaded runtimes, cell `k` on shard `k mod n`.
pub(crate) struct Shards {
    runtimes: Vec<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Shards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shards")
            .field("count", &self.runtimes.len())
            .finish()
    }
}

impl Shards {
    /// One shard per available core.
    pub(crate) fn per_core() -> Result<Shards> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Shards::new(cores)
    }

    /// `count` shards (at least one).
    pub(crate) fn new(count: usize) -> Result<Shards> {
        let runtimes = (0..count.max(1))
            .map(|_| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| no_answer(format!("a runtime for the cells' devices: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Shards { runtimes })
    }

    /// The number of the shard of the cell at `index`.
    fn shard_of(&self, index: usize) -> usize {
        index.checked_rem(self.runtimes.len()).unwrap_or(0)
    }

    /// Runs `work` on every item, each given with the index of the cell it belongs to and run on that
    /// cell's shard: [`WINDOW`] of a shard's items at once and the shards side by side. Returns each item's
    /// result in the order the items came.
    pub(crate) fn run_each<T, R, F>(
        &self,
        items: impl IntoIterator<Item = (usize, T)>,
        work: F,
    ) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: AsyncFn(&mut T) -> R + Sync,
    {
        let mut parts: Vec<Vec<(usize, T)>> = self.runtimes.iter().map(|_| Vec::new()).collect();
        for (position, (cell, item)) in items.into_iter().enumerate() {
            if let Some(part) = parts.get_mut(self.shard_of(cell)) {
                part.push((position, item));
            }
        }
        let work = &work;
        let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .into_iter()
                .zip(&self.runtimes)
                .filter(|(part, _)| !part.is_empty())
                .map(|(mut part, runtime)| {
                    scope.spawn(move || {
                        runtime.block_on(async {
                            let mut done = Vec::with_capacity(part.len());
                            for window in part.chunks_mut(WINDOW) {
                                done.extend(
                                    futures_util::future::join_all(
                                        window
                                            .iter_mut()
                                            .map(|(k, item)| async { (*k, work(item).await) }),
                                    )
                                    .await,
                                );
                            }
                            done
                        })
                    })
                })
                .collect();
            let mut done = Vec::new();
            for handle in handles {
                match handle.join() {
                    Ok(part) => done.extend(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            done
        });
        done.sort_by_key(|(k, _)| *k);
        done.into_iter().map(|(_, r)| r).collect()
    }
}

impl Drop for Shards {
    /// Stops the shards' tasks (the devices' servers) without waiting: the conductor may be inside another
    /// runtime, where waiting is not allowed.
    fn drop(&mut self) {
        for runtime in self.runtimes.drain(..) {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_items_order_and_each_shard_keeps_its_cells() {
        let shards = Shards::new(3).expect("runtimes");
        let mut items: Vec<(usize, Option<std::thread::ThreadId>)> =
            (0..10).map(|k| (k, None)).collect();
        let out = shards.run_each(items.iter_mut().enumerate(), async |(k, seen)| {
            tokio::task::yield_now().await;
            *seen = Some(std::thread::current().id());
            *k * 10
        });
        assert_eq!(out, (0..10).map(|k| k * 10).collect::<Vec<_>>());
        // Cells 0, 3, 6 and 9 share a shard, and so a thread; cells 0 and 1 do not.
        let thread = |k: usize| items[k].1.expect("worked on");
        assert_eq!(thread(0), thread(3));
        assert_eq!(thread(0), thread(9));
        assert_ne!(thread(0), thread(1));
        assert_ne!(thread(1), thread(2));
    }

    #[test]
    fn a_socket_opened_on_a_shard_is_served_there_on_later_runs() {
        let shards = Shards::new(2).expect("runtimes");
        // A listener and its client both opened on shard 1, used in a later run of shard 1.
        let (listener, mut client) = shards
            .run_each([(1, ())], async |_| {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let c = tokio::net::TcpStream::connect(l.local_addr().expect("addr"))
                    .await
                    .expect("connect");
                (Some(l), c)
            })
            .pop()
            .expect("opened");
        let mut sockets = [(listener, &mut client)];
        let echoed = shards
            .run_each([(1, &mut sockets)], async |sockets| {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let [(listener, client)] = sockets;
                let listener = listener.take().expect("a listener");
                let server = tokio::spawn(async move {
                    let (mut s, _) = listener.accept().await.expect("accept");
                    let mut b = [0u8; 4];
                    s.read_exact(&mut b).await.expect("read");
                    s.write_all(&b).await.expect("write");
                });
                client.write_all(b"ping").await.expect("send");
                let mut b = [0u8; 4];
                client.read_exact(&mut b).await.expect("answer");
                server.await.expect("served");
                b
            })
            .pop()
            .expect("echoed");
        assert_eq!(&echoed, b"ping");
    }
}
