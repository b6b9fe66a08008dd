//! `pagecast next CAMPAIGN`: the upcoming fires, in UTC and local time.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{Exit, Failure, Outcome, output, print_diagnostics};
use crate::campaign::validate_file;
use crate::cli::Format;

/// Runs the command.
pub fn run(path: &Path, count: usize, now: DateTime<Utc>, format: Format) -> Outcome {
    let campaign = validate_file(path, now).map_err(|d| {
        print_diagnostics(&d);
        Failure::printed()
    })?;
    let Some(schedule) = &campaign.schedule else {
        return Err(Failure::invalid(format!(
            "{}: the campaign has no `schedule`; it runs only by `pagecast run`",
            path.display()
        )));
    };
    let fires = schedule.fires_after(now, count);
    let tz = schedule.timezone.name();
    match format {
        Format::Json => {
            let fires: Vec<_> = fires
                .iter()
                .map(|f| {
                    json!({"utc": f.utc.to_rfc3339_opts(SecondsFormat::Secs, true),
                           "local": f.local.to_rfc3339_opts(SecondsFormat::Secs, false)})
                })
                .collect();
            let doc = json!({"campaign": campaign.id, "timezone": tz, "fires": fires});
            output::println(&serde_json::to_string_pretty(&doc).expect("serializes"));
        }
        _ => {
            output::println(&format!("{} — `{}` in {tz}", campaign.id, schedule.expr));
            for f in &fires {
                output::println(&format!(
                    "  {}  ({})",
                    f.utc.to_rfc3339_opts(SecondsFormat::Secs, true),
                    f.local.to_rfc3339_opts(SecondsFormat::Secs, false)
                ));
            }
        }
    }
    Ok(Exit::Done)
}
