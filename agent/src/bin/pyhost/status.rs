//! `pyhost status --addr HOST:PORT`: ask a running agent for
//! `/status.json` and print it as the Agent's `agent status` does.

use std::error::Error;
use std::time::Duration;

use pyhost_agent::status::{client, text, Snapshot};

use crate::args::StatusArgs;

pub fn status(opts: StatusArgs) -> Result<(), Box<dyn Error>> {
    let response = client::request(&opts.addr, "GET", "/status.json", None, Duration::from_secs(5)).map_err(|e| {
        format!(
            "cannot reach {}: {e} (is pyhost running with --status-addr {0}?)",
            opts.addr
        )
    })?;
    if response.status != 200 {
        return Err(format!("{} answered {}: {}", opts.addr, response.status, response.body.trim()).into());
    }
    let snapshot: Snapshot = serde_json::from_str(&response.body)
        .map_err(|e| format!("{} did not answer with a pyhost status: {e}", opts.addr))?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else {
        print!("{}", text::render(&snapshot));
    }
    Ok(())
}
