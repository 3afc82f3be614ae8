//! A fast per-thread pseudo-random generator, for choices that need no
//! secrecy: balancing draws, request UUIDs (as HAProxy's, not
//! cryptographic).

use std::cell::Cell;

thread_local! {
    // Per-thread xorshift state: no shared state between workers.
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A fast per-thread pseudo-random number (not for secrets).
pub fn next_u64() -> u64 {
    RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9E37_79B9_7F4A_7C15);
            x = t ^ (&x as *const u64 as u64) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        x
    })
}
