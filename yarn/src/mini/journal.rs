//! The journal: one JSON object per line for each thing the mini cluster does, so tests (and people)
//! can check what happened and in which order without scraping logs.
//!
//! Each line has `ts` (ms since the epoch) and `event` (`app_state`, `attempt_state`,
//! `container_allocated`, `container_launched`, `container_released`, `container_completed`,
//! `node_lost`), plus `app`, `attempt`, `container`, `node`, `state`, `exit_status` and `reason` where
//! they apply. The ResourceManager actor is the only writer.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// One journal line.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Event {
    /// Milliseconds since the epoch (filled in by [`Journal::write`]).
    pub ts: i64,
    /// What happened.
    pub event: &'static str,
    /// Application id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Attempt id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
    /// Container id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Node id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// New state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Container exit status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Event {
    /// An event of kind `event` with no fields set.
    pub fn new(event: &'static str) -> Self {
        Event {
            event,
            ..Event::default()
        }
    }
}

/// Where journal lines go (nowhere when no file was given).
pub struct Journal {
    out: Option<std::io::BufWriter<std::fs::File>>,
}

impl Journal {
    /// A journal appending to `path`, or a silent one.
    pub fn open(path: Option<&Path>) -> std::io::Result<Self> {
        let out = match path {
            Some(p) => Some(std::io::BufWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )),
            None => None,
        };
        Ok(Journal { out })
    }

    /// Writes one event, stamped with the current time, and flushes it.
    pub fn write(&mut self, mut e: Event) {
        let Some(out) = self.out.as_mut() else { return };
        e.ts = now_ms();
        if let Ok(line) = serde_json::to_string(&e) {
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                tracing::warn!("the journal could not be written; no further lines will be");
                self.out = None;
            }
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_json_lines_with_only_the_fields_that_apply() {
        let p = std::env::temp_dir().join(format!("mini-journal-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let mut j = Journal::open(Some(&p)).unwrap();
        j.write(Event {
            app: Some("application_1_0001".into()),
            state: Some("ACCEPTED".into()),
            ..Event::new("app_state")
        });
        j.write(Event {
            container: Some("container_1_0001_01_000002".into()),
            exit_status: Some(-100),
            ..Event::new("container_completed")
        });
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "app_state");
        assert_eq!(lines[0]["state"], "ACCEPTED");
        assert!(lines[0]["ts"].as_i64().unwrap() > 0);
        assert!(lines[0].get("container").is_none());
        assert_eq!(lines[1]["exit_status"], -100);
        std::fs::remove_file(&p).unwrap();
    }
}
