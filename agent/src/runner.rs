//! Run configured checks and report every submission as a JSON-lines
//! record ([`CheckLine`]): the engine of `examples/run_check.rs` (and of the
//! differential test).

use super::aggregator::Aggregator;
use super::check::{cancel_check, check_id, instantiate, load_check_class, run_check};
use super::config::CheckConfig;
use super::host::AgentHost;
use super::output::{self, CheckLine, Origin};
use pyhost::Python;

/// Load check `name`, instantiate each configured instance, run each
/// `times` times, and hand every line (submissions as made, warnings, the
/// run result, or a `load_error`) to `emit`, in order. A broken check is
/// reported through `emit` and never stops the caller. Only `emit`'s own
/// error is returned.
pub fn run_configured<E>(
    py: Python<'_>,
    host: &AgentHost,
    name: &str,
    configs: &[CheckConfig],
    times: usize,
    mut emit: impl FnMut(CheckLine<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let class = load_check_class(py, name);
    let mut index = 0;
    for config in configs {
        for instance in &config.instances {
            let origin0 = Origin {
                check: name,
                instance: index,
                run: 0,
            };
            index += 1;
            let class = match &class {
                Ok(c) => c,
                Err(e) => {
                    emit(output::load_error(origin0, e))?;
                    continue;
                }
            };
            let id = check_id(name, instance, &config.init_config);
            let check = match instantiate(py, class, &config.init_config, instance, &id) {
                Ok(c) => c,
                Err(e) => {
                    emit(output::load_error(origin0, &e))?;
                    // What __init__ submitted before failing belongs to no run.
                    drop(host.aggregator.take_submissions(&id));
                    continue;
                }
            };
            for run in 1..=times {
                let origin = Origin { run, ..origin0 };
                let outcome = run_check(&check);
                emit_submissions(&host.aggregator, &id, origin, &mut emit)?;
                for w in &outcome.warnings {
                    emit(output::warning(origin, w))?;
                }
                emit(output::run_result(origin, &outcome))?;
            }
            // Let the check release what it holds (rtloader's cancel_check);
            // a failing cancel() has nothing left to affect.
            let _ = cancel_check(&check);
        }
    }
    Ok(())
}

fn emit_submissions<E>(
    aggregator: &Aggregator,
    check_id: &str,
    origin: Origin<'_>,
    emit: &mut impl FnMut(CheckLine<'_>) -> Result<(), E>,
) -> Result<(), E> {
    for s in aggregator.take_submissions(check_id) {
        emit(output::submission(origin, &s))?;
    }
    Ok(())
}
