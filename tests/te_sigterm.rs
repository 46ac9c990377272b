//! SIGTERM stops a TaskExecutor and kills its tasks: what happens when YARN stops the container.
//! In its own test binary because the signal goes to the whole test process.

use std::collections::BTreeMap;
use std::time::Duration;

use spindle::rpc::{
    Resources, Secret, ServerConfig, ServerEvent, TaskDeployment, TaskExecutorServer, TaskState,
    ToAm, ToTe,
};
use spindle::task_executor::{self, TaskExecutorConfig};
use tokio::sync::mpsc;

const GUARD: Duration = Duration::from_secs(30);

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, f)
        .await
        .expect("no progress within the guard time")
}

/// Whether `pid` names a live (not zombie) process.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn sigterm_stops_the_task_executor_and_kills_its_tasks() {
    let secret = Secret::new(b"s".to_vec()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut events) = mpsc::channel(64);
    let server = TaskExecutorServer::bind("127.0.0.1:0", ServerConfig::new(secret.clone()), tx)
        .await
        .unwrap();
    let config = TaskExecutorConfig::new(
        server.local_addr().to_string(),
        "container_1".into(),
        "node1",
        1,
        Resources::new(1000, 1 << 30),
        dir.path().to_path_buf(),
        secret,
    );
    let te = tokio::spawn(task_executor::run(config));

    let ServerEvent::Connected { handle } = within(events.recv()).await.unwrap() else {
        panic!("expected a connection");
    };
    let mut messages = async || loop {
        match within(events.recv()).await.unwrap() {
            ServerEvent::Message {
                message: ToAm::Heartbeat { .. },
                ..
            } => continue,
            ServerEvent::Message { message, .. } => return message,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(matches!(messages().await, ToAm::Register(_)));
    handle
        .send(ToTe::RegistrationAccepted {
            instance_id: "i".into(),
            heartbeat_interval_ms: 1000,
            heartbeat_timeout_ms: 60_000,
        })
        .unwrap();
    handle
        .send(ToTe::RequestSlot {
            slot_index: Some(0),
            allocation_id: "a".into(),
            job_id: "j".into(),
            resources: Resources::default(),
        })
        .unwrap();
    assert!(matches!(messages().await, ToAm::SlotRequestAck { .. }));
    assert!(matches!(messages().await, ToAm::OfferSlots { .. }));
    let pid_file = dir.path().join("pid");
    handle
        .send(ToTe::DeployTask(TaskDeployment {
            execution_attempt_id: "e".into(),
            allocation_id: "a".into(),
            job_id: "j".into(),
            vertex_name: "v".into(),
            subtask_index: 0,
            parallelism: 1,
            attempt_number: 0,
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!("sleep 300 & echo $! > {}; wait", pid_file.display()),
            ],
            env: BTreeMap::new(),
        }))
        .unwrap();
    match messages().await {
        ToAm::TaskStateUpdate { state, .. } => assert_eq!(state, TaskState::Running),
        other => panic!("unexpected {other:?}"),
    }
    // The grandchild (sleep) is in the task's process group; wait until it has written its pid.
    let sleep_pid: u32 = within(async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file)
                && let Ok(pid) = text.trim().parse()
            {
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(alive(sleep_pid));

    // SAFETY: sending a signal to our own process.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGTERM);
    }
    within(te).await.unwrap().expect("a clean stop on SIGTERM");
    within(async {
        while alive(sleep_pid) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
