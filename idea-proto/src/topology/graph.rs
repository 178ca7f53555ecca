//! Undirected-graph checks for topology validation: connectivity and bridges, iterative so that deep graphs
//! cannot overflow the stack.

/// Adjacency lists of `n` vertices; edge `i` is `edges[i]`, stored under both ends with its index.
fn adjacency(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<(usize, usize)>> {
    let mut adj = vec![Vec::new(); n];
    for (i, &(a, b)) in edges.iter().enumerate() {
        if let Some(list) = adj.get_mut(a) {
            list.push((b, i));
        }
        if let Some(list) = adj.get_mut(b) {
            list.push((a, i));
        }
    }
    adj
}

/// Whether every vertex is reachable from vertex 0 (an empty graph is connected).
pub(super) fn is_connected(n: usize, edges: &[(usize, usize)]) -> bool {
    if n == 0 {
        return true;
    }
    let adj = adjacency(n, edges);
    let mut seen = vec![false; n];
    let mut stack = vec![0usize];
    if let Some(s) = seen.get_mut(0) {
        *s = true;
    }
    let mut count = 1usize;
    while let Some(v) = stack.pop() {
        for &(w, _) in adj.get(v).map(Vec::as_slice).unwrap_or_default() {
            if let Some(s) = seen.get_mut(w)
                && !*s
            {
                *s = true;
                count = count.saturating_add(1);
                stack.push(w);
            }
        }
    }
    count == n
}

/// An edge whose removal disconnects its ends (Tarjan's low-link, iteratively), if any.
pub(super) fn find_bridge(n: usize, edges: &[(usize, usize)]) -> Option<usize> {
    let adj = adjacency(n, edges);
    let mut order = vec![usize::MAX; n];
    let mut low = vec![usize::MAX; n];
    let mut next = 0usize;
    for root in 0..n {
        if order.get(root) != Some(&usize::MAX) {
            continue;
        }
        // Frames: (vertex, edge index it was entered by, position in its adjacency list).
        let mut stack = vec![(root, usize::MAX, 0usize)];
        set(&mut order, root, next);
        set(&mut low, root, next);
        next = next.saturating_add(1);
        while let Some(frame) = stack.last_mut() {
            let (v, via, pos) = *frame;
            if let Some(&(w, edge)) = adj.get(v).and_then(|l| l.get(pos)) {
                frame.2 = pos.saturating_add(1);
                if edge == via {
                    continue;
                }
                if get(&order, w) == usize::MAX {
                    set(&mut order, w, next);
                    set(&mut low, w, next);
                    next = next.saturating_add(1);
                    stack.push((w, edge, 0));
                } else {
                    let lw = get(&order, w).min(get(&low, v));
                    set(&mut low, v, lw);
                }
            } else {
                stack.pop();
                if let Some(&(parent, _, _)) = stack.last() {
                    let lp = get(&low, parent).min(get(&low, v));
                    set(&mut low, parent, lp);
                    if get(&low, v) > get(&order, parent) {
                        return Some(via);
                    }
                }
            }
        }
    }
    None
}

fn get(v: &[usize], i: usize) -> usize {
    v.get(i).copied().unwrap_or(usize::MAX)
}

fn set(v: &mut [usize], i: usize, x: usize) {
    if let Some(slot) = v.get_mut(i) {
        *slot = x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connectivity() {
        assert!(is_connected(3, &[(0, 1), (1, 2)]));
        assert!(!is_connected(3, &[(0, 1)]));
        assert!(is_connected(1, &[]));
    }

    #[test]
    fn bridges() {
        // A triangle has none; a triangle with a tail has one, the tail.
        assert_eq!(find_bridge(3, &[(0, 1), (1, 2), (2, 0)]), None);
        assert_eq!(find_bridge(4, &[(0, 1), (1, 2), (2, 0), (2, 3)]), Some(3));
        // Two triangles joined by one edge: that edge.
        let edges = [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3), (2, 3)];
        assert_eq!(find_bridge(6, &edges), Some(6));
        // A long path is all bridges, and deep enough to overflow a recursive search.
        let path: Vec<_> = (0..200_000).map(|i| (i, i + 1)).collect();
        assert!(find_bridge(200_001, &path).is_some());
    }
}
