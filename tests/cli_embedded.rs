//! `spindle yarn-session` with no Hadoop configuration: the real binary starts an embedded
//! mini-yarn in the background, says so, and later commands find the same one.

use std::process::Output;

fn spindle(tmp: &std::path::Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_spindle"))
        .arg("yarn-session")
        .args(args)
        .env_remove("HADOOP_CONF_DIR")
        .env_remove("YARN_CONF_DIR")
        .env_remove("HADOOP_HOME")
        .env("TMPDIR", tmp)
        .env("USER", "embedded-test")
        .env("SPINDLE_PROPERTIES_DIR", tmp)
        .output()
        .unwrap()
}

/// Stops the mini-yarn whose pid the CLI printed, when the test ends however it ends.
struct MiniGuard(Option<i32>);

impl Drop for MiniGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: plain kill(2) on the pid the CLI reported for the process it started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

#[test]
fn without_hadoop_conf_an_embedded_mini_yarn_is_started_then_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let stopped = spindle(tmp.path(), &["--stop"]);
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert!(!stopped.status.success());
    assert!(
        stderr.contains("no embedded mini-yarn running") && stderr.contains("HADOOP_CONF_DIR"),
        "{stderr}"
    );

    let first = spindle(tmp.path(), &["-q"]);
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    let pid = stdout
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|p| p.parse::<i32>().ok());
    let _guard = MiniGuard(pid);
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("started an embedded mini-yarn"), "{stdout}");
    assert!(pid.is_some(), "{stdout}");
    assert!(
        stdout.contains("NodeManagers in the cluster: 2"),
        "{stdout}"
    );

    // A second command reuses it, and its checks run against it: nothing is submitted.
    let second = spindle(tmp.path(), &["-d", "-s", "99"]);
    let stdout = String::from_utf8_lossy(&second.stdout);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stdout.contains("using the embedded mini-yarn already running"),
        "{stdout}"
    );
    assert!(!second.status.success());
    assert!(
        stderr.contains("virtual cores per TaskManager (99)"),
        "{stderr}"
    );
    assert!(!stdout.contains("Submitting"), "{stdout}");
}
