//! Tasks as child processes.
//!
//! A deployed task is a process the TaskExecutor starts in its container: the task's argv, the
//! container's environment plus the task's own, and its identity in `SPINDLE_*` variables. Its
//! stdout and stderr go to files in the container's log dir, named after the task, so YARN's log
//! aggregation keeps them. Each process is watched by its own tokio task beside the TaskExecutor's
//! actor, which learns what happened through [`TaskEvent`]s: started, ended (finished on exit code 0,
//! failed with the exit code and the tail of stderr otherwise, canceled when asked to stop).
//! Each task runs in its own process group, so canceling it (SIGTERM, then SIGKILL after a grace
//! period) reaches the processes it started too.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::rpc::{ExecutionAttemptId, TaskDeployment};

/// How a task process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    Finished,
    Failed {
        exit_code: Option<i32>,
        error: String,
    },
    Canceled,
}

/// What a task's watcher reports to the TaskExecutor.
#[derive(Debug)]
pub enum TaskEvent {
    /// The process is running.
    Started { id: ExecutionAttemptId, pid: u32 },
    /// The process ended, or could not be started.
    Ended {
        id: ExecutionAttemptId,
        outcome: TaskOutcome,
    },
}

/// Asks a running task to stop; dropping it does nothing.
pub struct CancelHandle(Option<oneshot::Sender<()>>);

impl CancelHandle {
    /// Starts canceling the task (once; later calls do nothing).
    pub fn cancel(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Where a task's stdout and stderr go: `<log_dir>/<vertex>-<subtask>-<attempt>-<execution id>.out/.err`
/// (the vertex name reduced to characters safe in a file name).
pub fn task_log_paths(log_dir: &Path, task: &TaskDeployment) -> (PathBuf, PathBuf) {
    let vertex: String = task
        .vertex_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = format!(
        "{vertex}-{}-{}-{}",
        task.subtask_index, task.attempt_number, task.execution_attempt_id
    );
    (
        log_dir.join(format!("{base}.out")),
        log_dir.join(format!("{base}.err")),
    )
}

/// Settings shared by all task processes of a TaskExecutor.
#[derive(Clone, Debug)]
pub struct ProcessSettings {
    pub log_dir: PathBuf,
    pub cancel_grace_period: Duration,
    pub stderr_tail_bytes: usize,
}

/// Starts watching a new task process; it is launched on the watcher's task, not the caller's.
pub fn spawn_task(
    task: TaskDeployment,
    settings: ProcessSettings,
    events: mpsc::UnboundedSender<TaskEvent>,
) -> CancelHandle {
    let (cancel_tx, cancel_rx) = oneshot::channel();
    tokio::spawn(async move {
        let id = task.execution_attempt_id.clone();
        let outcome = run_task(task, &settings, cancel_rx, &events).await;
        let _ = events.send(TaskEvent::Ended { id, outcome });
    });
    CancelHandle(Some(cancel_tx))
}

async fn run_task(
    task: TaskDeployment,
    settings: &ProcessSettings,
    mut cancel: oneshot::Receiver<()>,
    events: &mpsc::UnboundedSender<TaskEvent>,
) -> TaskOutcome {
    let id = task.execution_attempt_id.clone();
    let (out_path, err_path) = task_log_paths(&settings.log_dir, &task);
    let mut child = match launch(&task, &settings.log_dir, &out_path, &err_path) {
        Ok(child) => child,
        Err(error) => {
            warn!(task = %id, "{error}");
            return TaskOutcome::Failed {
                exit_code: None,
                error,
            };
        }
    };
    let pid = child.id().unwrap_or_default();
    info!(task = %id, vertex = %task.vertex_name, subtask = task.subtask_index, pid, stdout = %out_path.display(), "task process started");
    let _ = events.send(TaskEvent::Started {
        id: id.clone(),
        pid,
    });

    let status = tokio::select! {
        status = child.wait() => status,
        Ok(()) = &mut cancel => {
            info!(task = %id, pid, "canceling task: SIGTERM to its process group");
            signal_group(pid, libc::SIGTERM);
            match tokio::time::timeout(settings.cancel_grace_period, child.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    warn!(task = %id, pid, grace = ?settings.cancel_grace_period, "task did not stop after SIGTERM; sending SIGKILL");
                    signal_group(pid, libc::SIGKILL);
                    let _ = child.wait().await;
                }
            }
            return TaskOutcome::Canceled;
        }
    };
    let outcome = match status {
        Ok(status) => outcome_of(status, &err_path, settings.stderr_tail_bytes),
        Err(err) => TaskOutcome::Failed {
            exit_code: None,
            error: format!("waiting for the task process failed: {err}"),
        },
    };
    info!(task = %id, ?outcome, "task process ended");
    outcome
}

fn launch(
    task: &TaskDeployment,
    log_dir: &Path,
    out_path: &Path,
    err_path: &Path,
) -> Result<tokio::process::Child, String> {
    let Some((program, args)) = task.argv.split_first() else {
        return Err("the task has an empty argv; nothing to run".to_string());
    };
    std::fs::create_dir_all(log_dir)
        .map_err(|e| format!("cannot create the log directory {}: {e}", log_dir.display()))?;
    let open = |path: &Path| {
        File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let (stdout, stderr) = (open(out_path)?, open(err_path)?);
    let mut command = Command::new(program);
    command.args(args).envs(&task.env);
    // The container's working directory holds the localized `spindle`: put it first on the
    // task's PATH so a task can call `spindle kv`.
    if let Ok(cwd) = std::env::current_dir()
        && cwd.join(crate::yarn_driver::launch::BINARY_LINK).is_file()
    {
        let rest = task
            .env
            .get("PATH")
            .cloned()
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_default();
        command.env("PATH", format!("{}:{rest}", cwd.display()));
    }
    command
        .env("SPINDLE_JOB_ID", &task.job_id.0)
        .env("SPINDLE_VERTEX", &task.vertex_name)
        .env("SPINDLE_SUBTASK_INDEX", task.subtask_index.to_string())
        .env("SPINDLE_PARALLELISM", task.parallelism.to_string())
        .env("SPINDLE_ATTEMPT", task.attempt_number.to_string())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start task process `{program}`: {e}"))
}

fn outcome_of(status: ExitStatus, err_path: &Path, tail_bytes: usize) -> TaskOutcome {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        return TaskOutcome::Finished;
    }
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("task process exited with code {code}"),
        (None, Some(signal)) => format!("task process was killed by signal {signal}"),
        (None, None) => format!("task process ended with {status}"),
    };
    let tail = stderr_tail(err_path, tail_bytes);
    let error = if tail.is_empty() {
        format!("{how}; its stderr is empty")
    } else {
        format!("{how}; end of its stderr:\n{tail}")
    };
    TaskOutcome::Failed {
        exit_code: status.code(),
        error,
    }
}

/// The last `max` bytes of the file (from a line start when one is in reach), lossily as UTF-8.
fn stderr_tail(path: &Path, max: usize) -> String {
    let read = || -> std::io::Result<Vec<u8>> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let start = len.saturating_sub(max as u64);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        if start > 0
            && let Some(newline) = bytes.iter().position(|&b| b == b'\n')
            && newline + 1 < bytes.len()
        {
            bytes.drain(..=newline);
        }
        Ok(bytes)
    };
    match read() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim_end().to_string(),
        Err(err) => format!("(cannot read {}: {err})", path.display()),
    }
}

/// Sends `signal` to the process group led by `pid`.
pub fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid > 0 {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names a process group.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_starts_at_a_line_and_keeps_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e");
        std::fs::write(&path, "first line\nsecond line\nthird\n").unwrap();
        assert_eq!(stderr_tail(&path, 100), "first line\nsecond line\nthird");
        assert_eq!(stderr_tail(&path, 15), "third");
        assert!(stderr_tail(&dir.path().join("missing"), 10).contains("cannot read"));
    }
}
