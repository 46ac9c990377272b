//! `spindle yarn-session --stop` leaves nothing behind: the application is FINISHED with
//! SUCCEEDED in the RM's report, every container the journal saw launched has completed and no
//! process of any of them is alive, and the staging folder is gone from the file system.

mod session_common;

use session_common::{Mini, container_processes, containers, poll, poll_journal};

#[tokio::test(flavor = "multi_thread")]
async fn stop_finishes_the_application_and_leaves_no_container_or_staging_behind() {
    let mini = Mini::start(&[]);
    let (app, web) = mini.deploy(&["-d", "-s", "2", "-Dslotmanager.number-of-slots.min=4"]);
    let http = reqwest::Client::new();
    let overview = poll(&http, &format!("{web}/overview"), |v| {
        v["taskmanagers"] == 2
    })
    .await;
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    let staging = mini.staging(&app);
    assert!(staging.join("spindle").is_file(), "{}", staging.display());
    let launched = containers(&mini.journal(), &app, "container_launched");
    assert_eq!(launched.len(), 3);
    for c in &launched {
        assert!(
            !container_processes(c).is_empty(),
            "the check sees {c}'s processes while it runs"
        );
    }

    let report = session_common::stop(&mini, &http, &app).await;
    assert_eq!(report["app"]["state"], "FINISHED", "{report}");
    assert_eq!(report["app"]["finalStatus"], "SUCCEEDED", "{report}");

    let journal = poll_journal(&mini, |j| {
        containers(j, &app, "container_completed").len() >= launched.len()
    })
    .await;
    let completed = containers(&journal, &app, "container_completed");
    for c in &launched {
        assert!(completed.contains(c), "{c} never completed: {journal:#?}");
    }
    // The NodeManagers reap container processes when they report completion; wait for that.
    for c in &launched {
        let mut alive = container_processes(c);
        for _ in 0..300 {
            if alive.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            alive = container_processes(c);
        }
        assert!(alive.is_empty(), "processes of {c} still alive: {alive:?}");
    }
    assert!(!staging.exists(), "the staging folder is removed");
    let apps = session_common::get(&http, &format!("{}/apps", mini.rest_url))
        .await
        .unwrap();
    assert_eq!(
        apps["apps"]["app"].as_array().map(Vec::len),
        Some(1),
        "{apps}"
    );
}

/// Files shipped with `-t` reach the TaskExecutors; when the session ends by any other way than
/// `--stop` (here: the ApplicationMaster's own `DELETE /cluster`), the ApplicationMaster deletes
/// the staging folder itself.
#[tokio::test(flavor = "multi_thread")]
async fn the_application_master_removes_the_staging_folder_when_the_session_ends() {
    let mini = Mini::start(&[]);
    let shipped = mini.dir.path().join("shipped.txt");
    std::fs::write(&shipped, "shipped with -t\n").unwrap();
    let (app, web) = mini.deploy(&[
        "-d",
        "-s",
        "1",
        "-Dslotmanager.number-of-slots.min=1",
        "-t",
        shipped.to_str().unwrap(),
    ]);
    let http = reqwest::Client::new();
    poll(&http, &format!("{web}/overview"), |v| {
        v["taskmanagers"] == 1
    })
    .await;
    let staging = mini.staging(&app);
    assert!(staging.join("spindle").is_file(), "{}", staging.display());

    // The shipped file is localized in the TaskExecutor's container too, under its name.
    let journal = mini.journal();
    let am = session_common::am_container(&journal, &app);
    let te = containers(&journal, &app, "container_launched")
        .into_iter()
        .find(|c| *c != am)
        .expect("a TaskExecutor container");
    let in_container = std::fs::read_dir(&mini.work_dir)
        .unwrap()
        .flatten()
        .map(|nm| {
            nm.path()
                .join("local/usercache")
                .join(session_common::USER)
                .join("appcache")
                .join(&app)
                .join(&te)
                .join("shipped.txt")
        })
        .find(|p| p.exists())
        .expect("the shipped file in the TaskExecutor's working directory");
    assert_eq!(
        std::fs::read_to_string(in_container).unwrap(),
        "shipped with -t\n"
    );

    // The secret the client keeps in the properties file signs the request, as `--stop` does.
    let properties = std::fs::read_to_string(
        mini.dir
            .path()
            .join(format!(".spindle-properties-{}", session_common::USER)),
    )
    .unwrap();
    let secret = properties
        .lines()
        .find_map(|l| l.strip_prefix("secret="))
        .map(|hex| spindle::rpc::Secret::new(hex::decode(hex).unwrap()).unwrap())
        .expect("the properties file holds the secret");
    let token = spindle::web::auth::request_token(&secret, "DELETE", "/cluster");
    let answer = http
        .delete(format!("{web}/cluster"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{answer:?}");

    let report = poll(&http, &format!("{}/apps/{app}", mini.rest_url), |v| {
        v["app"]["state"] == "FINISHED"
    })
    .await;
    assert_eq!(report["app"]["finalStatus"], "SUCCEEDED", "{report}");
    for _ in 0..300 {
        if !staging.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !staging.exists(),
        "the ApplicationMaster removed {}",
        staging.display()
    );
}
