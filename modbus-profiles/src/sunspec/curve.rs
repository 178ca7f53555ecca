//! The piecewise-linear curves of the SunSpec DER models (volt-var 705, volt-watt 706, watt-var 712, …): what
//! a curve gives at an input.

/// The curve through `points` (inputs increasing, as SunSpec requires) at `x`: linear between points, held at
/// the first and last point beyond them; `None` for a curve of no points.
///
/// ```
/// let volt_var = [(92.0, 44.0), (98.0, 0.0), (102.0, 0.0), (108.0, -44.0)];
/// assert_eq!(modbus_profiles::sunspec::curve_at(&volt_var, 95.0), Some(22.0));
/// assert_eq!(modbus_profiles::sunspec::curve_at(&volt_var, 120.0), Some(-44.0));
/// ```
pub fn curve_at(points: &[(f64, f64)], x: f64) -> Option<f64> {
    let first = points.first()?;
    let last = points.last()?;
    if x <= first.0 {
        return Some(first.1);
    }
    if x >= last.0 {
        return Some(last.1);
    }
    points.windows(2).find_map(|w| match w {
        [(x0, y0), (x1, y1)] if x >= *x0 && x <= *x1 => Some(if x1 > x0 {
            y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        } else {
            *y0
        }),
        _ => None,
    })
}
