//! Volatility of the mid, estimated from the book: an exponentially weighted mean of squared
//! mid changes per second, so the estimate follows the market without storing history.

use std::time::Instant;

#[derive(Debug, Clone)]
pub struct VolatilityEstimator {
    half_life_s: f64,
    last: Option<(f64, Instant)>,
    /// Variance of the mid per second (price units²/s).
    var_per_s: f64,
    samples: u64,
}

impl VolatilityEstimator {
    pub fn new(half_life_s: f64) -> Self {
        Self {
            half_life_s: half_life_s.max(0.1),
            last: None,
            var_per_s: 0.0,
            samples: 0,
        }
    }

    pub fn update(&mut self, mid: f64, at: Instant) {
        if let Some((prev, t)) = self.last {
            let dt = at.saturating_duration_since(t).as_secs_f64();
            if dt <= 0.0 {
                return;
            }
            let sample = (mid - prev).powi(2) / dt;
            let alpha = 1.0 - (-dt * std::f64::consts::LN_2 / self.half_life_s).exp();
            self.var_per_s = if self.samples == 0 {
                sample
            } else {
                self.var_per_s + alpha * (sample - self.var_per_s)
            };
            self.samples += 1;
        }
        self.last = Some((mid, at));
    }

    /// σ in price units per √second.
    pub fn sigma(&self) -> f64 {
        self.var_per_s.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn steady_moves_give_their_volatility() {
        let mut v = VolatilityEstimator::new(5.0);
        let t0 = Instant::now();
        for i in 0..200 {
            // ±1 every 100 ms: variance 1 / 0.1 s = 10 per second.
            let mid = if i % 2 == 0 { 100.0 } else { 101.0 };
            v.update(mid, t0 + Duration::from_millis(100 * i));
        }
        assert!((v.sigma() - 10f64.sqrt()).abs() < 0.01, "{}", v.sigma());
        let mut still = VolatilityEstimator::new(5.0);
        for i in 0..50 {
            still.update(100.0, t0 + Duration::from_millis(100 * i));
        }
        assert_eq!(still.sigma(), 0.0);
    }
}
