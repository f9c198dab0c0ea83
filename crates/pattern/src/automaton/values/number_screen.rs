//! Doubles beside exact numeric points, which place most numbers among the
//! points without building their exact key.

use crate::number::{self, Decimal};

/// Doubles beside the exact points of a numeric index, in the points' order,
/// so that most numbers are placed among the points from their
/// [`number::approximate`] double, without building their exact key.
///
/// Each double is the point correctly rounded, and rounding keeps order, so
/// the doubles are sorted too. A number's approximation `a` is "near" a
/// point's double `b` when `|a - b| <= NEAR * max(|a|, |b|)`; with both
/// errors at most 2^-51 (relative), a number not near `b` lies strictly on
/// `b`'s side that `a` does. Numbers near a point, or with no approximation,
/// are placed by their exact key instead. Usable only when every point's
/// double is zero for a zero point or a normal double otherwise (so that
/// relative error bounds hold).
#[derive(Clone, Debug, Default)]
pub(super) struct NumberScreen {
    points: Vec<f64>,
    pub(super) usable: bool,
}

/// Far wider than the two errors together (at most 2^-50 relative), so
/// that computing the test in doubles cannot tip it.
const NEAR: f64 = number::APPROXIMATION_ERROR * 2048.0;

impl NumberScreen {
    pub(super) fn build<'p>(points: impl Iterator<Item = &'p [u8]>) -> NumberScreen {
        let mut usable = true;
        let points: Vec<f64> = points
            .map(|key| {
                let point = Decimal::from_key(key);
                let double = point.to_f64();
                usable &= if point.is_zero() {
                    double == 0.0
                } else {
                    double.is_normal()
                };
                double
            })
            .collect();
        usable &= points.windows(2).all(|w| w[0] <= w[1]);
        NumberScreen { points, usable }
    }

    /// How many points lie strictly below the number approximated by
    /// `approx`, when none is equal or near; `None` otherwise.
    #[inline]
    pub(super) fn place(&self, approx: f64) -> Option<usize> {
        if !self.usable || !approx.is_finite() {
            return None;
        }
        let near = |point: f64| (approx - point).abs() <= approx.abs().max(point.abs()) * NEAR;
        let below = self.points.partition_point(|&p| p < approx);
        if below > 0 && near(self.points[below - 1]) {
            return None;
        }
        if below < self.points.len() && near(self.points[below]) {
            return None;
        }
        Some(below)
    }

    pub(super) fn memory_usage(&self) -> usize {
        self.points.len() * 8
    }
}
