//! Response-time histograms per server, for the stats page's percentiles
//! (p50, p90, p99, max), which HAProxy itself does not show.
//!
//! Locking choice: one slot per worker thread, each behind its own Mutex.
//! A worker locks only its own slot, so workers never contend with each
//! other; the stats page locks each slot briefly to merge them. A slot's
//! histogram is allocated at its first sample, so idle servers cost nothing.

use std::cell::Cell;
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// Tells this thread which worker it is (workers call it at start).
pub fn set_worker(id: usize) {
    WORKER.with(|w| w.set(id));
}

/// Slots per server: one per core, so workers do not share (with more
/// workers than cores, two workers share a slot and its lock).
fn slots() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The largest time recorded: a minute, in microseconds.
const MAX_US: u64 = 60_000_000;

/// One server's response times.
#[derive(Debug)]
pub struct Latency {
    slots: Vec<Mutex<Option<Histogram<u32>>>>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            slots: (0..slots()).map(|_| Mutex::new(None)).collect(),
        }
    }
}

/// Percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Latency {
    /// Records one response time.
    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros())
            .unwrap_or(MAX_US)
            .clamp(1, MAX_US);
        let slot = WORKER.with(|w| w.get()) % self.slots.len().max(1);
        if let Some(Ok(mut h)) = self.slots.get(slot).map(|m| m.lock()) {
            if h.is_none() {
                // Two significant digits: 1% precision is plenty for a page.
                // (These bounds are valid, so creation does not fail.)
                *h = Histogram::new_with_bounds(1, MAX_US, 2).ok();
            }
            if let Some(h) = h.as_mut() {
                let _ = h.record(us);
            }
        }
    }

    /// Adds this server's samples into `into`.
    pub fn merge_into(&self, into: &mut Option<Histogram<u32>>) {
        for slot in &self.slots {
            if let Ok(h) = slot.lock() {
                if let Some(h) = h.as_ref() {
                    match into {
                        Some(acc) => {
                            let _ = acc.add(h);
                        }
                        None => *into = Some(h.clone()),
                    }
                }
            }
        }
    }

    /// This server's percentiles.
    pub fn percentiles(&self) -> Percentiles {
        let mut h = None;
        self.merge_into(&mut h);
        percentiles(h.as_ref())
    }
}

/// Percentiles of a merged histogram.
pub fn percentiles(h: Option<&Histogram<u32>>) -> Percentiles {
    match h {
        Some(h) if !h.is_empty() => Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        },
        _ => Percentiles::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_samples() {
        let l = Latency::default();
        for ms in 1..=100 {
            l.record(Duration::from_millis(ms));
        }
        let p = l.percentiles();
        assert_eq!(p.count, 100);
        assert!((49_000..=51_000).contains(&p.p50), "{p:?}");
        assert!((98_000..=100_000).contains(&p.p99), "{p:?}");
        assert!((99_000..=101_000).contains(&p.max), "{p:?}");
        assert_eq!(Latency::default().percentiles(), Percentiles::default());
    }
}
