//! `--isolation process`: checks run in worker processes, so that one that
//! crashes the interpreter (a segfault in a C extension, `os._exit`, the
//! OOM killer) takes down only its worker, never the agent.
//!
//! Each worker is the agent's own program in a worker role (`pyhost
//! __worker`, [`child`]): it embeds its own interpreter with the Datadog
//! modules, loads the checks it is sent, runs one at a time, and sends back
//! what each run submitted, which the agent replays into its aggregator
//! ([`Aggregator::replay`](crate::aggregator::Aggregator::replay)): the
//! flushes are the same as in-process, submission for submission. The
//! agent's side ([`parent`]) keeps N workers, reports a death against the
//! check and instance that was running, and replaces the worker. Messages
//! are JSON lines ([`wire`]).
//!
//! On CPython 3.11, where sub-interpreters share one GIL, this is also the
//! way to run CPU-bound checks in parallel: each worker has its own GIL.

pub mod child;
pub mod parent;
pub mod wire;

pub use parent::{ProcessOptions, ProcessPool, RemoteError, RemoteLoaded, RemoteOutcome, RemoteResult, RemoteRun};
