//! Replays the fuzz corpus (fuzz/corpus/TARGET/) through the fuzz
//! targets' bodies (fuzz/entries.rs) on stable Rust: every input a fuzzer
//! run kept, and every crash it found once fixed, stays a test.

#[path = "../fuzz/entries.rs"]
mod entries;

use std::path::Path;

#[test]
fn every_kept_fuzz_input_runs_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, run) in entries::TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "no corpus for {name}");
        for path in inputs {
            let data = std::fs::read(&path).expect("read input");
            // A panic names the input, so that it can be run again with
            // `cargo +nightly fuzz run NAME PATH`.
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name}: {} panicked", path.display());
        }
    }
}
