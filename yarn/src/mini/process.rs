//! Container processes, launched the way a NodeManager's default container executor does.
//!
//! A container's launch context becomes a `launch_container.sh` in its work dir that exports the
//! environment (YARN's own variables first, then the application's, then the whitelisted variables
//! inherited from the NodeManager) and ends in `exec /bin/bash -c "<commands joined with spaces>"`.
//! The script runs in its own process group so that a stop reaches every process the container
//! started: SIGTERM to the group, SIGKILL after a delay. Output the commands do not redirect lands in
//! `prelaunch.out` / `prelaunch.err` in the container's log dir. A monitor sums the resident memory of
//! the group's processes (from /proc) and kills the container when it exceeds its size, which the
//! NodeManager reports as exit status −104.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;

/// Variables a NodeManager passes from its own environment when the container did not set them
/// (`yarn.nodemanager.env-whitelist`'s default).
pub const ENV_WHITELIST: &[&str] = &[
    "JAVA_HOME",
    "HADOOP_COMMON_HOME",
    "HADOOP_HDFS_HOME",
    "HADOOP_CONF_DIR",
    "CLASSPATH_PREPEND_DISTCACHE",
    "HADOOP_YARN_HOME",
    "HADOOP_HOME",
    "PATH",
    "LANG",
    "TZ",
];

/// The process groups of the containers a cluster has running, so that they can all be killed even
/// when the cluster is dropped without an orderly shutdown (a panicking test, say).
#[derive(Clone, Debug, Default)]
pub struct ProcessGroups(std::sync::Arc<std::sync::Mutex<HashSet<i32>>>);

impl ProcessGroups {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i32>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, pgid: i32) {
        self.lock().insert(pgid);
    }

    fn remove(&self, pgid: i32) {
        self.lock().remove(&pgid);
    }

    /// SIGKILLs every group still registered.
    pub fn kill_all(&self) {
        for pgid in self.lock().drain() {
            signal_group(pgid, libc::SIGKILL);
        }
    }

    /// How many groups are registered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything needed to start one container's process.
#[derive(Clone, Debug)]
pub struct LaunchSpec {
    /// The container id string (`CONTAINER_ID`).
    pub container_id: String,
    /// The submitting user (`USER`, `LOGNAME`).
    pub user: String,
    /// The NodeManager's RPC host and port, and its web port.
    pub nm_host: String,
    /// NodeManager RPC port.
    pub nm_port: u16,
    /// NodeManager web port.
    pub nm_http_port: u16,
    /// The container's work dir (`PWD`); created by [`launch`].
    pub work_dir: PathBuf,
    /// The container's log dir (`LOG_DIRS`, `<LOG_DIR>`); created by [`launch`].
    pub log_dir: PathBuf,
    /// The application's local dir (`LOCAL_DIRS`).
    pub app_local_dir: PathBuf,
    /// The user's local dir (`LOCAL_USER_DIRS`).
    pub user_local_dir: PathBuf,
    /// The launch context's commands, joined with spaces.
    pub commands: Vec<String>,
    /// The launch context's environment, in order.
    pub environment: Vec<(String, String)>,
    /// Variables the RM adds for AM containers (`APPLICATION_WEB_PROXY_BASE`, ...).
    pub extra_environment: Vec<(String, String)>,
    /// The container's credentials file content (`container_tokens`).
    pub tokens: Vec<u8>,
    /// Resident memory limit of the process tree, in MiB; `None` disables the check.
    pub memory_limit_mb: Option<i64>,
    /// Where the monitor looks for the process tree's memory.
    pub monitor_interval: Duration,
    /// The environment the NodeManager itself has (whitelisted variables are taken from it).
    pub nm_environment: Vec<(String, String)>,
    /// Where the process group is registered while it runs.
    pub groups: ProcessGroups,
}

/// How a container's process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessExit {
    /// The exit code, or 128 + signal number when a signal ended it (as a shell reports it).
    pub code: i32,
    /// Set when the memory monitor killed the container: the diagnostics line.
    pub memory_exceeded: Option<String>,
}

/// A started container process.
#[derive(Debug)]
pub struct Launched {
    /// The process id of the launch script, which is also its process group id.
    pub pid: i32,
    /// Resolves when the process has exited (and its group has been cleaned up).
    pub exit: oneshot::Receiver<ProcessExit>,
}

/// Replaces YARN's launch-context placeholders: `<LOG_DIR>`, `<CPS>`, `{{VAR}}` → `$VAR`, and
/// `<ADD_OPENS>` (nothing to add for the JVMs this cluster runs).
pub fn expand(s: &str, log_dir: &Path) -> String {
    let mut out = s
        .replace("<LOG_DIR>", &log_dir.to_string_lossy())
        .replace("<CPS>", ":")
        .replace("<ADD_OPENS>", "");
    while let Some(start) = out.find("{{") {
        let Some(len) = out[start + 2..].find("}}") else {
            break;
        };
        let name = out[start + 2..start + 2 + len].to_string();
        out.replace_range(start..start + 4 + len, &format!("${name}"));
    }
    out
}

/// The environment a container gets, in export order: YARN's variables (which the application
/// cannot override), then the application's, then whitelisted NodeManager variables it did not set.
pub fn container_environment(spec: &LaunchSpec) -> Vec<(String, String)> {
    let token_file = spec.work_dir.join("container_tokens");
    let yarn: Vec<(String, String)> = vec![
        ("CONTAINER_ID".into(), spec.container_id.clone()),
        ("NM_HOST".into(), spec.nm_host.clone()),
        ("NM_PORT".into(), spec.nm_port.to_string()),
        ("NM_HTTP_PORT".into(), spec.nm_http_port.to_string()),
        (
            "LOCAL_DIRS".into(),
            spec.app_local_dir.to_string_lossy().into(),
        ),
        (
            "LOCAL_USER_DIRS".into(),
            format!("{}/", spec.user_local_dir.to_string_lossy()),
        ),
        ("LOG_DIRS".into(), spec.log_dir.to_string_lossy().into()),
        ("USER".into(), spec.user.clone()),
        ("LOGNAME".into(), spec.user.clone()),
        ("HOME".into(), "/home/".into()),
        ("PWD".into(), spec.work_dir.to_string_lossy().into()),
        (
            "HADOOP_TOKEN_FILE_LOCATION".into(),
            token_file.to_string_lossy().into(),
        ),
        ("JVM_PID".into(), "$$".into()),
    ];
    let fixed: HashSet<String> = yarn.iter().map(|(k, _)| k.clone()).collect();
    let mut env = yarn;
    for (k, v) in spec.extra_environment.iter().chain(spec.environment.iter()) {
        if !fixed.contains(k) {
            env.retain(|(e, _)| e != k);
            env.push((k.clone(), expand(v, &spec.log_dir)));
        }
    }
    for name in ENV_WHITELIST {
        if env.iter().any(|(k, _)| k == name) {
            continue;
        }
        if let Some((_, v)) = spec.nm_environment.iter().find(|(k, _)| k == name) {
            env.push((name.to_string(), v.clone()));
        }
    }
    if !env.iter().any(|(k, _)| k == "YARN_CONF_DIR")
        && let Some((_, v)) = env.iter().find(|(k, _)| k == "HADOOP_CONF_DIR")
    {
        let v = v.clone();
        env.push(("YARN_CONF_DIR".into(), v));
    }
    env
}

/// The text of `launch_container.sh`, as a NodeManager writes it (values exported in double quotes,
/// so `$VAR` references expand; the commands run through `exec /bin/bash -c`).
pub fn launch_script(spec: &LaunchSpec) -> String {
    let mut s = String::from("#!/bin/bash\n\nset -o pipefail -e\n");
    for (k, v) in container_environment(spec) {
        s.push_str(&format!("export {k}=\"{v}\"\n"));
    }
    let command = spec
        .commands
        .iter()
        .map(|c| expand(c, &spec.log_dir))
        .collect::<Vec<_>>()
        .join(" ");
    s.push_str(&format!("exec /bin/bash -c \"{command}\"\n"));
    s
}

/// Creates the container's dirs and files and starts its process in a new process group.
pub async fn launch(spec: &LaunchSpec) -> io::Result<Launched> {
    tokio::fs::create_dir_all(&spec.work_dir).await?;
    tokio::fs::create_dir_all(&spec.log_dir).await?;
    tokio::fs::write(spec.work_dir.join("container_tokens"), &spec.tokens).await?;
    let script = spec.work_dir.join("launch_container.sh");
    tokio::fs::write(&script, launch_script(spec)).await?;
    let stdout = std::fs::File::create(spec.log_dir.join("prelaunch.out"))?;
    let stderr = std::fs::File::create(spec.log_dir.join("prelaunch.err"))?;
    let mut cmd = tokio::process::Command::new("/bin/bash");
    cmd.arg(&script)
        .current_dir(&spec.work_dir)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(false);
    if let Some((_, path)) = spec.nm_environment.iter().find(|(k, _)| k == "PATH") {
        cmd.env("PATH", path);
    }
    let mut child = cmd.spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("container process exited before it was watched"))?
        as i32;
    spec.groups.insert(pid);
    let groups = spec.groups.clone();
    let (tx, rx) = oneshot::channel();
    let limit = spec.memory_limit_mb;
    let interval = spec.monitor_interval;
    let container_id = spec.container_id.clone();
    tokio::spawn(async move {
        let mut memory_exceeded = None;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let status = loop {
            tokio::select! {
                status = child.wait() => break status,
                _ = tick.tick(), if limit.is_some() && memory_exceeded.is_none() => {
                    let limit_mb = limit.unwrap_or(i64::MAX);
                    let rss = group_rss_bytes(pid);
                    if rss > limit_mb.saturating_mul(1024 * 1024) {
                        memory_exceeded = Some(format!(
                            "Container [pid={pid},containerID={container_id}] is running {} beyond the \
                             'PHYSICAL' memory limit. Current usage: {} of {limit_mb} MB physical \
                             memory used. Killing container.",
                            human_mb(rss - limit_mb * 1024 * 1024),
                            human_mb(rss),
                        ));
                        signal_group(pid, libc::SIGKILL);
                    }
                }
            }
        };
        // Whatever the container left running in its group goes with it.
        signal_group(pid, libc::SIGKILL);
        groups.remove(pid);
        let code = match status {
            Ok(s) => exit_code(s),
            Err(_) => -1,
        };
        let _ = tx.send(ProcessExit {
            code,
            memory_exceeded,
        });
    });
    Ok(Launched { pid, exit: rx })
}

fn human_mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

fn exit_code(s: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

/// Sends `sig` to every process in group `pgid`; a group that no longer exists is not an error.
pub fn signal_group(pgid: i32, sig: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// Whether any process of group `pgid` is still alive.
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    pgid > 1 && unsafe { libc::kill(-pgid, 0) } == 0
}

/// Stops a container as a NodeManager does: SIGTERM to its group now, SIGKILL after `delay`
/// (`yarn.nodemanager.sleep-delay-before-sigkill.ms`).
pub fn terminate(pgid: i32, delay: Duration) {
    signal_group(pgid, libc::SIGTERM);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        signal_group(pgid, libc::SIGKILL);
    });
}

/// The resident memory of every process in group `pgid`, from /proc (0 when /proc is unreadable).
pub fn group_rss_bytes(pgid: i32) -> i64 {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as i64;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) start at index 2 (state).
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // fields[0] = state (3rd), [2] = pgrp (5th), [21] = rss in pages (24th).
        if fields.get(2).and_then(|f| f.parse::<i32>().ok()) == Some(pgid) {
            total += fields
                .get(21)
                .and_then(|f| f.parse::<i64>().ok())
                .unwrap_or(0)
                * page;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, commands: &[&str]) -> LaunchSpec {
        LaunchSpec {
            container_id: "container_1_0001_01_000002".into(),
            user: "alice".into(),
            nm_host: "127.0.0.1".into(),
            nm_port: 4545,
            nm_http_port: 8042,
            work_dir: dir.join("work"),
            log_dir: dir.join("logs"),
            app_local_dir: dir.join("app"),
            user_local_dir: dir.join("user"),
            commands: commands.iter().map(|s| s.to_string()).collect(),
            environment: vec![
                ("GREETING".into(), "hello {{USER}}".into()),
                ("CONTAINER_ID".into(), "spoofed".into()),
            ],
            extra_environment: vec![],
            tokens: b"HDTS\x00\x00\x00".to_vec(),
            memory_limit_mb: None,
            monitor_interval: Duration::from_millis(50),
            nm_environment: vec![
                ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
                ("HADOOP_CONF_DIR".into(), "/etc/conf".into()),
                ("SECRET_NOT_WHITELISTED".into(), "x".into()),
            ],
            groups: ProcessGroups::default(),
        }
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mini-process-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn placeholders_expand() {
        let log = Path::new("/l");
        assert_eq!(
            expand(
                "a 1><LOG_DIR>/stdout {{JAVA_HOME}}/bin<CPS>x<ADD_OPENS>",
                log
            ),
            "a 1>/l/stdout $JAVA_HOME/bin:x"
        );
        assert_eq!(expand("{{unclosed", log), "{{unclosed");
    }

    #[tokio::test]
    async fn a_container_gets_yarns_environment_and_its_log_dir() {
        let dir = tempdir("env");
        let s = spec(
            &dir,
            &[
                "env 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr;",
                "cat $HADOOP_TOKEN_FILE_LOCATION > <LOG_DIR>/tokens; pwd > <LOG_DIR>/pwd",
            ],
        );
        let launched = launch(&s).await.unwrap();
        let exit = launched.exit.await.unwrap();
        assert_eq!(exit.code, 0);
        let out = std::fs::read_to_string(dir.join("logs/stdout")).unwrap();
        let has = |line: &str| out.lines().any(|l| l == line);
        assert!(has("CONTAINER_ID=container_1_0001_01_000002"), "{out}");
        assert!(has("NM_HOST=127.0.0.1") && has("NM_PORT=4545") && has("NM_HTTP_PORT=8042"));
        assert!(has("USER=alice"));
        assert!(has("GREETING=hello alice"), "{{{{VAR}}}} expands: {out}");
        assert!(has(&format!("LOG_DIRS={}", dir.join("logs").display())));
        assert!(has(&format!("PWD={}", dir.join("work").display())));
        assert!(has("HADOOP_CONF_DIR=/etc/conf") && has("YARN_CONF_DIR=/etc/conf"));
        assert!(!out.contains("SECRET_NOT_WHITELISTED"));
        assert_eq!(
            std::fs::read(dir.join("logs/tokens")).unwrap(),
            b"HDTS\x00\x00\x00"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("logs/pwd"))
                .unwrap()
                .trim(),
            dir.join("work").to_string_lossy()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn the_exit_code_is_the_process_exit_code() {
        let dir = tempdir("exit");
        let launched = launch(&spec(&dir, &["echo hi;", "exit 3"])).await.unwrap();
        assert_eq!(launched.exit.await.unwrap().code, 3);
        assert_eq!(
            std::fs::read_to_string(dir.join("logs/prelaunch.out")).unwrap(),
            "hi\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn terminate_ends_the_whole_group_even_when_sigterm_is_ignored() {
        let dir = tempdir("stop");
        let s = spec(
            &dir,
            &["trap '' TERM; sleep 300 & sleep 300 & echo started > <LOG_DIR>/started; wait"],
        );
        let launched = launch(&s).await.unwrap();
        assert_eq!(s.groups.len(), 1);
        let started = dir.join("logs/started");
        while !started.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(group_alive(launched.pid));
        terminate(launched.pid, Duration::from_millis(200));
        let exit = launched.exit.await.unwrap();
        assert_eq!(exit.code, 137, "SIGKILL after the ignored SIGTERM");
        assert!(s.groups.is_empty(), "an ended group is unregistered");
        while group_alive(launched.pid) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn sigterm_exit_is_143() {
        let dir = tempdir("term");
        let launched = launch(&spec(&dir, &["echo up > <LOG_DIR>/up; exec sleep 300"]))
            .await
            .unwrap();
        while !dir.join("logs/up").exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        terminate(launched.pid, Duration::from_secs(30));
        assert_eq!(launched.exit.await.unwrap().code, 143);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn the_memory_monitor_kills_a_container_over_its_size() {
        let dir = tempdir("mem");
        let mut s = spec(
            &dir,
            // Holds about 64 MiB resident in a shell variable.
            &["x=$(head -c 67108864 /dev/zero | tr -c a a); sleep 60"],
        );
        s.memory_limit_mb = Some(16);
        let launched = launch(&s).await.unwrap();
        let exit = launched.exit.await.unwrap();
        let diag = exit.memory_exceeded.expect("killed by the monitor");
        assert!(
            diag.contains("beyond the 'PHYSICAL' memory limit"),
            "{diag}"
        );
        assert_eq!(exit.code, 137);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
