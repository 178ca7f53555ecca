//! The conductor's pure work spread over the machine's cores: each cell's agent is a sans-IO core with a state
//! of its own, so handling one cell's messages or sealing its outgoing ones never touches another's, and the
//! results — collected back in the cells' order — do not depend on which thread did what.

/// Below this many items the work stays on the calling thread: starting threads would cost more.
const WORTH_SPLITTING: usize = 64;

/// Runs `work` on every item, the items split in contiguous parts over the available cores (on the calling
/// thread alone for a few); returns each item's result in the items' order.
pub(crate) fn map_each<T, R, F>(items: &mut [T], work: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(&mut T) -> R + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if threads < 2 || items.len() < WORTH_SPLITTING {
        return items.iter_mut().map(work).collect();
    }
    let part = items.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let mut parts = items.chunks_mut(part);
        let first = parts.next().unwrap_or_default();
        let others: Vec<_> = parts
            .map(|chunk| scope.spawn(move || chunk.iter_mut().map(work).collect::<Vec<R>>()))
            .collect();
        let mut results: Vec<R> = first.iter_mut().map(work).collect();
        for handle in others {
            match handle.join() {
                Ok(part) => results.extend(part),
                // A panic in a part is a bug of the conductor's: raised here as it would have been alone.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_items_order_whether_split_or_not() {
        for n in [0, 1, WORTH_SPLITTING - 1, WORTH_SPLITTING, 1001] {
            let mut items: Vec<u64> = (0..n as u64).collect();
            let doubled = map_each(&mut items, |x| {
                *x += 1;
                *x * 2
            });
            assert_eq!(doubled, (1..=n as u64).map(|x| x * 2).collect::<Vec<_>>());
            assert_eq!(
                items,
                (1..=n as u64).collect::<Vec<_>>(),
                "every item was worked on once"
            );
        }
    }
}
