//! Dense LU factorisation with partial pivoting, for the Newton–Raphson Jacobian.

/// Solves `a · x = b` in place (`b` becomes `x`); `a` is `n × n`, row-major, and is overwritten. Returns false
/// when a pivot vanishes (the matrix is singular to working precision).
pub(crate) fn solve(a: &mut [f64], b: &mut [f64], n: usize) -> bool {
    debug_assert_eq!(a.len(), n * n);
    debug_assert_eq!(b.len(), n);
    let scale = a
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let (pivot_row, pivot) =
            (col..n)
                .map(|r| (r, a[r * n + col].abs()))
                .fold(
                    (col, -1.0),
                    |best, cur| if cur.1 > best.1 { cur } else { best },
                );
        if pivot <= scale * 1e-14 {
            return false;
        }
        if pivot_row != col {
            for k in 0..n {
                a.swap(col * n + k, pivot_row * n + k);
            }
            b.swap(col, pivot_row);
        }
        let diag = a[col * n + col];
        for r in col + 1..n {
            let factor = a[r * n + col] / diag;
            if factor != 0.0 {
                a[r * n + col] = 0.0;
                for k in col + 1..n {
                    a[r * n + k] -= factor * a[col * n + k];
                }
                b[r] -= factor * b[col];
            }
        }
    }
    for col in (0..n).rev() {
        let mut x = b[col];
        for k in col + 1..n {
            x -= a[col * n + k] * b[k];
        }
        b[col] = x / a[col * n + col];
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn solves_and_detects_singularity() {
        let mut a = vec![0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0];
        let mut b = vec![5.0, 3.0, 6.0];
        assert!(super::solve(&mut a, &mut b, 3));
        let (x, y, z) = (b[0], b[1], b[2]);
        assert!((2.0 * y + z - 5.0).abs() < 1e-12);
        assert!((x + y - 3.0).abs() < 1e-12);
        assert!((3.0 * x + z - 6.0).abs() < 1e-12);
        let mut singular = vec![1.0, 2.0, 2.0, 4.0];
        assert!(!super::solve(&mut singular, &mut [1.0, 2.0], 2));
    }
}
