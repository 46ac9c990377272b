//! The embedded mini-yarn the CLI uses when no Hadoop configuration is given: one per user, run as a
//! background `spindle mini-yarn` process so that a detached session outlives the command that
//! started it, and found again by later commands (`-q`, `--stop`, attaching) through its
//! configuration folder.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use yarn::conf::Configuration;
use yarn::rest::RmClient;

/// How long a starting mini-yarn may take to say it is ready.
const START_LIMIT: Duration = Duration::from_secs(60);

/// The folder of `user`'s embedded mini-yarn: `<temp>/spindle-mini-<user>`.
pub fn base_dir(user: &str) -> PathBuf {
    std::env::temp_dir().join(format!("spindle-mini-{user}"))
}

/// The Hadoop configuration of the running mini-yarn in `base`, if one answers.
async fn running(base: &Path, user: &str) -> Option<Configuration> {
    let conf_dir = base.join("conf");
    if !conf_dir.join("yarn-site.xml").is_file() {
        return None;
    }
    let conf = Configuration::load_from_dirs(Some(&conf_dir), None).ok()?;
    let (scheme, rms) = conf.rm_webapp_addresses().ok()?;
    let urls: Vec<String> = rms
        .iter()
        .map(|a| format!("{scheme}://{}", a.address))
        .collect();
    let rm = RmClient::with_timeouts(
        &urls,
        Some(user),
        Duration::from_secs(1),
        Duration::from_secs(5),
    )
    .ok()?;
    rm.cluster_info().await.ok().map(|_| conf)
}

/// The embedded mini-yarn's configuration: the one already running for `user`, else (when `start`)
/// a new one started in the background. The user is told which.
pub async fn embedded_cluster(
    user: &str,
    start: bool,
    out: &mut dyn Write,
) -> Result<Configuration, String> {
    let base = base_dir(user);
    let conf_dir = base.join("conf");
    if let Some(conf) = running(&base, user).await {
        let _ = writeln!(
            out,
            "No HADOOP_CONF_DIR or YARN_CONF_DIR set: using the embedded mini-yarn already running \
             (HADOOP_CONF_DIR={})",
            conf_dir.display()
        );
        return Ok(conf);
    }
    if !start {
        return Err(format!(
            "no Hadoop configuration found and no embedded mini-yarn running: set HADOOP_CONF_DIR to \
             the folder holding your cluster's *-site.xml files (looked for a mini-yarn in {})",
            conf_dir.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&conf_dir);
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    let log_path = base.join("mini-yarn.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the spindle binary: {e}"))?;
    let mut child = std::process::Command::new(exe)
        .arg("mini-yarn")
        .arg("--conf-dir")
        .arg(&conf_dir)
        .arg("--work-dir")
        .arg(base.join("work"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: Ctrl-C in this terminal does not stop it.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the embedded mini-yarn: {e}"))?;
    let pid = child.id();
    let started = tokio::time::Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!(
                "the embedded mini-yarn exited ({status}) before it was ready: {}",
                log.trim()
            ));
        }
        let ready =
            std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("\"event\":\"ready\""));
        if ready && let Some(conf) = running(&base, user).await {
            let _ = writeln!(
                out,
                "No HADOOP_CONF_DIR or YARN_CONF_DIR set: started an embedded mini-yarn (pid {pid}, \
                 log {}). Hadoop tools can use it with HADOOP_CONF_DIR={}; stop it with `kill {pid}`.",
                log_path.display(),
                conf_dir.display()
            );
            return Ok(conf);
        }
        if started.elapsed() > START_LIMIT {
            let _ = child.kill();
            return Err(format!(
                "the embedded mini-yarn was not ready after {} s; see {}",
                START_LIMIT.as_secs(),
                log_path.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
