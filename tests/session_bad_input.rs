//! Bad input to `spindle yarn-session` on a real mini-yarn (the real binary, the RM's REST API and
//! scheduler as YARN serves them): an unknown queue, `-tm` above the maximum allocation, `-s`
//! above the largest node's vcores, an unreachable ResourceManager, and a TaskManager size the
//! memory model cannot fit — each refused with a message naming what to change, and no
//! application submitted.

mod session_common;

use session_common::{Mini, get};

fn refused(mini: &Mini, args: &[&str]) -> String {
    let out = mini.session(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{args:?} was accepted:\n{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

async fn no_application(mini: &Mini) {
    let http = reqwest::Client::new();
    let apps = get(&http, &format!("{}/apps", mini.rest_url))
        .await
        .unwrap();
    let count = apps["apps"]
        .get("app")
        .and_then(|a| a.as_array())
        .map_or(0, Vec::len);
    assert_eq!(count, 0, "nothing is submitted: {apps}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_anything_is_submitted() {
    let mini = Mini::start(&["--node-vcores", "4", "--max-allocation-mb", "4096"]);

    let err = refused(&mini, &["-d", "-qu", "nosuchqueue"]);
    assert!(err.contains("nosuchqueue"), "{err}");
    assert!(
        err.contains("default"),
        "the existing queues are named: {err}"
    );

    let err = refused(&mini, &["-d", "-tm", "8192"]);
    assert!(
        err.contains("4096"),
        "the maximum allocation is named: {err}"
    );

    let err = refused(&mini, &["-d", "-s", "5"]);
    assert!(err.contains("vcores"), "{err}");
    assert!(
        err.contains('4'),
        "the largest node's vcores are named: {err}"
    );
    no_application(&mini).await;

    // A configuration whose ResourceManager is a closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let conf = mini.dir.path().join("closed-conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("yarn-site.xml"),
        format!(
            "<configuration><property><name>yarn.resourcemanager.webapp.address</name>\
             <value>127.0.0.1:{port}</value></property><property>\
             <name>yarn.resourcemanager.address</name><value>127.0.0.1:{port}</value>\
             </property></configuration>"
        ),
    )
    .unwrap();
    std::fs::copy(
        mini.conf_dir.join("core-site.xml"),
        conf.join("core-site.xml"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args(["yarn-session", "-d"])
        .env("HADOOP_CONF_DIR", &conf)
        .env_remove("YARN_CONF_DIR")
        .env("USER", session_common::USER)
        .env("SPINDLE_PROPERTIES_DIR", mini.dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&port.to_string()),
        "the address tried is named: {err}"
    );
    assert!(
        err.contains("yarn.resourcemanager.webapp.address"),
        "the key to fix is named: {err}"
    );
    no_application(&mini).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taskmanager_too_small_for_the_memory_model_is_refused_before_submitting() {
    let mini = Mini::start(&[]);
    let err = refused(&mini, &["-d", "-tm", "256"]);
    assert!(
        err.contains("taskmanager.memory.process.size"),
        "the key to fix is named: {err}"
    );
    no_application(&mini).await;
}
