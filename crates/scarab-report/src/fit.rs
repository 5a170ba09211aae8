//! Least-squares line through points: the cost per plugin of a chain.

/// `y = intercept + slope * x`, with the coefficient of determination.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearFit {
    /// Cost at zero (fixed overhead).
    pub intercept: f64,
    /// Cost per unit of `x` (per plugin).
    pub slope: f64,
    /// R²: 1 means the points lie exactly on the line.
    pub r_squared: f64,
    /// Number of points.
    pub n: usize,
}

/// Fit a line to `points` by ordinary least squares. `None` with fewer than two
/// points or when every `x` is the same.
pub fn linear_fit(points: &[(f64, f64)]) -> Option<LinearFit> {
    let n = points.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let ss_tot: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let ss_res: f64 = points
        .iter()
        .map(|p| (p.1 - (intercept + slope * p.0)).powi(2))
        .sum();
    let r_squared = if ss_tot == 0.0 {
        1.0
    } else {
        1.0 - ss_res / ss_tot
    };
    Some(LinearFit {
        intercept,
        slope,
        r_squared,
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_has_r_squared_one() {
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 5.0, 10.0, 20.0]
            .iter()
            .map(|&x| (x, 100.0 + 2000.0 * x))
            .collect();
        let f = linear_fit(&pts).unwrap();
        assert!((f.slope - 2000.0).abs() < 1e-6);
        assert!((f.intercept - 100.0).abs() < 1e-6);
        assert!((f.r_squared - 1.0).abs() < 1e-12);
        assert_eq!(f.n, 5);
    }

    #[test]
    fn curved_data_has_lower_r_squared() {
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 5.0, 10.0, 20.0]
            .iter()
            .map(|&x| (x, x * x * x))
            .collect();
        let f = linear_fit(&pts).unwrap();
        assert!(f.r_squared < 0.95, "{}", f.r_squared);
    }

    #[test]
    fn degenerate_inputs_give_none() {
        assert!(linear_fit(&[]).is_none());
        assert!(linear_fit(&[(1.0, 2.0)]).is_none());
        assert!(linear_fit(&[(3.0, 1.0), (3.0, 2.0)]).is_none());
    }
}
