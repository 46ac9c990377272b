//! The session cluster end to end with the real binary on the embedded mini-yarn: `spindle
//! yarn-session -d -s 2 -Dslotmanager.number-of-slots.min=4` brings up 2 TaskExecutors with 4 slots
//! between them, and `--stop` ends the application FINISHED/SUCCEEDED with its staging folder gone.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

const USER: &str = "e2e-session";

fn spindle(tmp: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_spindle"))
        .arg("yarn-session")
        .args(args)
        .env_remove("HADOOP_CONF_DIR")
        .env_remove("YARN_CONF_DIR")
        .env_remove("HADOOP_HOME")
        .env("TMPDIR", tmp)
        .env("USER", USER)
        .env("SPINDLE_PROPERTIES_DIR", tmp)
        .output()
        .unwrap()
}

/// Stops the mini-yarn whose pid the CLI printed when the test ends, however it ends.
struct MiniGuard(Option<i32>);

impl Drop for MiniGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: plain kill(2) on the pid the CLI reported for the process it started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

fn line_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.split(prefix).nth(1))
        .map(str::trim)
}

#[tokio::test(flavor = "multi_thread")]
async fn detached_session_brings_up_two_taskexecutors_and_stop_finishes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let deployed = spindle(
        tmp.path(),
        &["-d", "-s", "2", "-Dslotmanager.number-of-slots.min=4"],
    );
    let stdout = String::from_utf8_lossy(&deployed.stdout).into_owned();
    let pid = line_after(&stdout, "(pid ")
        .and_then(|r| r.split(',').next())
        .and_then(|p| p.parse::<i32>().ok());
    let _guard = MiniGuard(pid);
    assert!(
        deployed.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    let web =
        line_after(&stdout, "JobManager Web Interface: ").expect("the AM's address is printed");
    let app_id = line_after(&stdout, "--stop -id ").expect("how to stop it is printed");

    // Wait (without a time assertion) until the two TaskExecutors have registered.
    let http = reqwest::Client::new();
    let mut overview = serde_json::Value::Null;
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{web}/overview")).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
        {
            overview = v;
            if overview["taskmanagers"] == 2 && overview["slots-total"] == 4 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    assert_eq!(overview["slots-total"], 4, "{overview}");

    let staging = tmp.path().join(format!(
        "spindle-mini-{USER}/work/hdfs/user/{USER}/.spindle/{app_id}"
    ));
    assert!(staging.join("spindle").is_file(), "{}", staging.display());

    let stopped = spindle(tmp.path(), &["--stop"]);
    let stdout = String::from_utf8_lossy(&stopped.stdout);
    assert!(
        stopped.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    assert!(stdout.contains("Asked the ApplicationMaster"), "{stdout}");
    assert!(
        stdout.contains(&format!("{app_id} is FINISHED with final status SUCCEEDED")),
        "{stdout}"
    );
    assert!(!staging.exists(), "the staging folder is removed");
    assert!(
        !tmp.path()
            .join(format!(".spindle-properties-{USER}"))
            .exists()
    );
}
