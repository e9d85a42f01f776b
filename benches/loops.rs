//! What the benches that time Python loops share (`modules`, `agent`): the
//! run size, the variants (a Python loop function and the target it calls),
//! the interleaved rounds and the medians.
//!
//! Rounds are interleaved (each round runs every variant, in a rotating
//! order) so that drift in the machine's speed spreads over all variants.

use std::time::Instant;

use pyhost::Bound;

/// `(rounds, iterations per sample)`: `PYHOST_BENCH_ROUNDS` (default 15)
/// and `PYHOST_BENCH_ITERS` (default 200000). `cargo bench` passes
/// `--bench`; `cargo test --benches` runs the benches too, without it, and
/// gets a short run (1 round of 1000).
pub fn rounds_and_iters() -> (usize, usize) {
    if !std::env::args().any(|a| a == "--bench") {
        return (1, 1000);
    }
    (
        env_usize("PYHOST_BENCH_ROUNDS", 15),
        env_usize("PYHOST_BENCH_ITERS", 200_000),
    )
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One thing timed: `looper(target, n)`, a Python function that calls
/// `target` `n` times.
#[allow(missing_debug_implementations)]
pub struct Variant<'py> {
    pub key: &'static str,
    pub looper: Bound<'py>,
    pub target: Bound<'py>,
    /// ns per call, one per round.
    pub samples: Vec<f64>,
}

impl<'py> Variant<'py> {
    pub fn new(key: &'static str, looper: Bound<'py>, target: Bound<'py>) -> Self {
        Variant {
            key,
            looper,
            target,
            samples: Vec::new(),
        }
    }
}

/// For a profiler: with `PYHOST_BENCH_ONLY=key1,key2` set, run just those
/// variants, once each for `rounds * iters` calls, print their ns per call
/// and return true (no table). `after` runs after each variant.
pub fn run_only(
    variants: &mut Vec<Variant<'_>>,
    rounds: usize,
    iters: usize,
    mut after: impl FnMut(),
) -> pyhost::Result<bool> {
    let Ok(only) = std::env::var("PYHOST_BENCH_ONLY") else {
        return Ok(false);
    };
    variants.retain(|v| only.split(',').any(|k| k == v.key));
    for v in variants.iter() {
        let t0 = Instant::now();
        v.looper.call1((&v.target, iters * rounds))?;
        println!(
            "{}: {:.1} ns/call",
            v.key,
            t0.elapsed().as_nanos() as f64 / (iters * rounds) as f64
        );
        after();
    }
    Ok(true)
}

/// Every variant once for `iters / 4` calls (specialisation, allocator,
/// caches); `after` runs after each.
pub fn warm_up(variants: &[Variant<'_>], iters: usize, mut after: impl FnMut()) -> pyhost::Result<()> {
    for v in variants {
        v.looper.call1((&v.target, iters / 4))?;
        after();
    }
    Ok(())
}

/// `rounds` interleaved rounds of `iters` calls per variant, each sample
/// recorded in ns per call; `after` runs after each sample, untimed.
pub fn interleave(
    variants: &mut [Variant<'_>],
    rounds: usize,
    iters: usize,
    mut after: impl FnMut(),
) -> pyhost::Result<()> {
    let n = variants.len();
    for round in 0..rounds {
        for k in 0..n {
            let v = &mut variants[(round + k) % n];
            let t0 = Instant::now();
            v.looper.call1((&v.target, iters))?;
            v.samples.push(t0.elapsed().as_nanos() as f64 / iters as f64);
            after();
        }
    }
    Ok(())
}

/// (median, min, max) of the samples of variant `key`.
pub fn stats(variants: &[Variant<'_>], key: &str) -> (f64, f64, f64) {
    let v = variants.iter().find(|v| v.key == key).expect(key);
    let mut s = v.samples.clone();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (s[s.len() / 2], s[0], s[s.len() - 1])
}

/// A table cell: `median [min-max]`, in whole ns.
pub fn cell(variants: &[Variant<'_>], key: &str) -> String {
    let (m, lo, hi) = stats(variants, key);
    format!("{m:.0} [{lo:.0}-{hi:.0}]")
}
