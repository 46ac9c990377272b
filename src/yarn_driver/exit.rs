//! Why a TaskExecutor's container ended, in words the ResourceManager's decision log and the
//! failure accounting can use. YARN reports a bare exit status; Flink's driver turns it into a
//! sentence per case (preempted, released or lost, killed, out of memory, bad disks, the process's
//! own exit code) with the NodeManager's diagnostics appended, and so does spindle.

use yarn::proto::hadoop::yarn::ContainerStatusProto;
use yarn::records::{ContainerExit, exit_status};

/// The cause of a completed container: what the exit status means, then YARN's diagnostics.
pub fn termination_cause(status: &ContainerStatusProto) -> String {
    let exit = ContainerExit::from_status(status.exit_status.unwrap_or(exit_status::INVALID));
    let what = match exit {
        ContainerExit::Success => "exited normally".to_owned(),
        ContainerExit::Invalid => "completed without an exit status".to_owned(),
        ContainerExit::Aborted => {
            "was aborted by YARN: released by the ApplicationMaster or lost with its node".to_owned()
        }
        ContainerExit::DisksFailed => {
            "failed because its node's local or log directories went bad".to_owned()
        }
        ContainerExit::Preempted => "was preempted by YARN".to_owned(),
        ContainerExit::MemoryExceeded { physical: true } => {
            "was killed for exceeding its physical memory limit; give the TaskManager more memory \
             (taskmanager.memory.process.size)"
                .to_owned()
        }
        ContainerExit::MemoryExceeded { physical: false } => {
            "was killed for exceeding its virtual memory limit; raise yarn.nodemanager.vmem-pmem-ratio \
             or disable the check"
                .to_owned()
        }
        ContainerExit::KilledByAppMaster => "was stopped by the ApplicationMaster".to_owned(),
        ContainerExit::KilledByResourceManager => {
            "was killed by the YARN ResourceManager".to_owned()
        }
        ContainerExit::KilledAfterAppCompletion => {
            "was killed because the application completed".to_owned()
        }
        ContainerExit::KilledByContainerScheduler => {
            "was killed by the NodeManager's container scheduler".to_owned()
        }
        ContainerExit::KilledForExcessLogs => "was killed for writing too much log".to_owned(),
        ContainerExit::ExitCode(code) => format!("failed with exit code {code}"),
    };
    match status.diagnostics.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => format!("Container {what}. Diagnostics: {d}"),
        _ => format!("Container {what}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(exit: i32, diagnostics: &str) -> ContainerStatusProto {
        ContainerStatusProto {
            exit_status: Some(exit),
            diagnostics: Some(diagnostics.to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn each_yarn_status_has_its_own_cause() {
        let cases = [
            (0, "exited normally"),
            (-100, "aborted"),
            (-101, "local or log directories"),
            (-102, "preempted"),
            (-103, "virtual memory"),
            (-104, "physical memory"),
            (-105, "stopped by the ApplicationMaster"),
            (-106, "killed by the YARN ResourceManager"),
            (-107, "application completed"),
            (1, "exit code 1"),
            (137, "exit code 137"),
        ];
        for (exit, expected) in cases {
            let cause = termination_cause(&status(exit, ""));
            assert!(cause.contains(expected), "{exit}: {cause}");
            assert!(!cause.contains("Diagnostics"), "{cause}");
        }
    }

    #[test]
    fn diagnostics_are_appended() {
        let cause = termination_cause(&status(-104, " Container killed on request.\n"));
        assert!(
            cause.ends_with("Diagnostics: Container killed on request."),
            "{cause}"
        );
        let none = ContainerStatusProto::default();
        assert!(termination_cause(&none).contains("without an exit status"));
    }
}
