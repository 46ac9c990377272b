//! The WebHDFS client against a scripted NameNode and DataNode speaking Hadoop 3.x's WebHDFS: the
//! two-step CREATE and OPEN with their redirects, statuses, deletes, typed errors from
//! `RemoteException`, and uploading a file as a YARN local resource.

mod rest_fake;

use std::sync::{Arc, Mutex};

use rest_fake::{FakeServer, Recorded, Reply, refused_address, serve};
use yarn::webhdfs::{CreateOptions, FileType, WebHdfsClient, WebHdfsError};

const FILE_STATUS: &str = r#"{"FileStatus":{"accessTime":1700000200000,"blockSize":134217728,
 "childrenNum":0,"fileId":16402,"group":"supergroup","length":11,"modificationTime":1700000201234,
 "owner":"alice","pathSuffix":"","permission":"644","replication":3,"storagePolicy":0,"type":"FILE"}}"#;

const DIR_LISTING: &str = r#"{"FileStatuses":{"FileStatus":[
 {"accessTime":0,"blockSize":0,"childrenNum":2,"fileId":16390,"group":"supergroup","length":0,
  "modificationTime":1700000100000,"owner":"alice","pathSuffix":"conf","permission":"755",
  "replication":0,"storagePolicy":0,"type":"DIRECTORY"},
 {"accessTime":1700000200000,"blockSize":134217728,"childrenNum":0,"fileId":16402,"group":"supergroup",
  "length":11,"modificationTime":1700000201234,"owner":"alice","pathSuffix":"spindle","permission":"1755",
  "replication":3,"storagePolicy":0,"type":"FILE"}]}}"#;

fn remote(exception: &str, class: &str, message: &str) -> String {
    serde_json::json!({"RemoteException": {
        "exception": exception, "javaClassName": class, "message": message}})
    .to_string()
}

/// A DataNode that takes CREATE data (201) and serves OPEN (200 with `content`).
async fn datanode(content: &'static [u8]) -> FakeServer {
    serve(move |req| match (req.method.as_str(), req.param("op")) {
        ("PUT", Some("CREATE")) => Reply::empty(201).with_header(
            "location",
            format!(
                "hdfs://nn.example:8020{}",
                req.path.trim_start_matches("/webhdfs/v1")
            ),
        ),
        ("GET", Some("OPEN")) => Reply {
            status: 200,
            headers: vec![("content-type", "application/octet-stream".to_owned())],
            body: content.to_vec(),
        },
        _ => Reply::json(
            400,
            &remote(
                "IllegalArgumentException",
                "java.lang.IllegalArgumentException",
                "bad op",
            ),
        ),
    })
    .await
}

/// A NameNode that redirects CREATE and OPEN to `dn` the way Hadoop's does (adding its RPC address)
/// and answers GETFILESTATUS with `FILE_STATUS`.
async fn namenode(dn: &FakeServer) -> FakeServer {
    let dn_url = dn.url.clone();
    serve(move |req| match (req.method.as_str(), req.param("op")) {
        ("PUT", Some("CREATE")) | ("GET", Some("OPEN")) => {
            let mut location = format!(
                "{dn_url}{}?op={}&namenoderpcaddress=nn.example:8020",
                req.path,
                req.param("op").unwrap()
            );
            if let Some(user) = req.param("user.name") {
                location.push_str(&format!("&user.name={user}"));
            }
            if let Some(ow) = req.param("overwrite") {
                location.push_str(&format!("&createparent=true&overwrite={ow}"));
            }
            Reply::empty(307).with_header("location", location)
        }
        ("GET", Some("GETFILESTATUS")) => Reply::json(200, FILE_STATUS),
        _ => Reply::json(
            400,
            &remote(
                "IllegalArgumentException",
                "java.lang.IllegalArgumentException",
                "bad op",
            ),
        ),
    })
    .await
}

#[tokio::test]
async fn create_puts_to_the_namenode_then_the_data_to_the_datanode() {
    let dn = datanode(b"").await;
    let nn = namenode(&dn).await;
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    let options = CreateOptions {
        overwrite: true,
        permission: Some(0o755),
        replication: Some(2),
        block_size: None,
    };
    client
        .create(
            "/user/alice/.spindle/app 1/spindle",
            &b"hello world"[..],
            &options,
        )
        .await
        .unwrap();

    let nn_reqs = nn.requests();
    assert_eq!(nn_reqs.len(), 1);
    let step1 = &nn_reqs[0];
    assert_eq!(step1.method, "PUT");
    assert_eq!(
        step1.path,
        "/webhdfs/v1/user/alice/.spindle/app%201/spindle"
    );
    assert_eq!(step1.param("op"), Some("CREATE"));
    assert_eq!(step1.param("overwrite"), Some("true"));
    assert_eq!(step1.param("permission"), Some("755"));
    assert_eq!(step1.param("replication"), Some("2"));
    assert_eq!(step1.param("blocksize"), None);
    assert_eq!(step1.param("user.name"), Some("alice"));
    assert!(step1.body.is_empty(), "no data goes to the NameNode");

    let dn_reqs = dn.requests();
    assert_eq!(dn_reqs.len(), 1);
    let step2 = &dn_reqs[0];
    assert_eq!(step2.method, "PUT");
    assert_eq!(step2.param("namenoderpcaddress"), Some("nn.example:8020"));
    assert_eq!(step2.param("user.name"), Some("alice"));
    assert_eq!(
        step2.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(step2.body, b"hello world");
}

#[tokio::test]
async fn create_follows_a_noredirect_location_answer() {
    let dn = datanode(b"").await;
    let dn_url = dn.url.clone();
    let nn = serve(move |req| {
        Reply::json(
            200,
            &format!(
                r#"{{"Location":"{dn_url}{}?op=CREATE&overwrite=false"}}"#,
                req.path
            ),
        )
    })
    .await;
    let client = WebHdfsClient::new(&nn.url, None).unwrap();
    client
        .create("/tmp/x", vec![1u8, 2, 3], &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(nn.requests()[0].param("overwrite"), Some("false"));
    assert_eq!(nn.requests()[0].param("user.name"), None);
    assert_eq!(dn.requests()[0].body, [1, 2, 3]);
}

#[tokio::test]
async fn create_of_an_existing_file_is_already_exists() {
    let nn = serve(|_| {
        Reply::json(
            403,
            &remote(
                "FileAlreadyExistsException",
                "org.apache.hadoop.fs.FileAlreadyExistsException",
                "/user/alice/x for client 127.0.0.1 already exists",
            ),
        )
    })
    .await;
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    let err = client
        .create("/user/alice/x", Vec::new(), &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebHdfsError::AlreadyExists { op: "CREATE", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[tokio::test]
async fn a_datanode_failure_is_reported_with_its_exception() {
    let dn = serve(|_| {
        Reply::json(
            500,
            &remote(
                "IOException",
                "java.io.IOException",
                "Failed to replace a bad datanode on the existing pipeline",
            ),
        )
    })
    .await;
    let nn = namenode(&dn).await;
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    let err = client
        .create("/user/alice/x", vec![0u8; 4], &CreateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CREATE /user/alice/x failed: IOException: Failed to replace a bad datanode on the existing \
         pipeline (HTTP 500 Internal Server Error)"
    );
}

#[tokio::test]
async fn file_status_and_listing() {
    let nn = serve(|req| match req.param("op") {
        Some("GETFILESTATUS") => Reply::json(200, FILE_STATUS),
        Some("LISTSTATUS") if req.path.ends_with("/empty") => {
            Reply::json(200, r#"{"FileStatuses":{"FileStatus":[]}}"#)
        }
        Some("LISTSTATUS") => Reply::json(200, DIR_LISTING),
        _ => Reply::empty(400),
    })
    .await;
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    let status = client.file_status("/user/alice/x").await.unwrap();
    assert_eq!(status.length, 11);
    assert_eq!(status.modification_time, 1_700_000_201_234);
    assert_eq!(status.kind, FileType::File);
    assert_eq!(status.owner, "alice");
    assert_eq!(status.permission_bits(), Some(0o644));
    assert!(!status.is_dir());

    let listing = client.list_status("/user/alice").await.unwrap();
    assert_eq!(listing.len(), 2);
    assert!(listing[0].is_dir());
    assert_eq!(listing[0].path_suffix, "conf");
    assert_eq!(listing[1].permission_bits(), Some(0o1755));
    assert!(
        client
            .list_status("/user/alice/empty")
            .await
            .unwrap()
            .is_empty()
    );

    let reqs = nn.requests();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/webhdfs/v1/user/alice/x");
    assert_eq!(reqs[1].param("op"), Some("LISTSTATUS"));
}

#[tokio::test]
async fn missing_files_and_denied_access_are_typed() {
    let nn = serve(|req| match req.param("op") {
        Some("GETFILESTATUS") => Reply::json(
            404,
            &remote(
                "FileNotFoundException",
                "java.io.FileNotFoundException",
                "File does not exist: /user/alice/nope",
            ),
        ),
        _ => Reply::json(
            403,
            &remote(
                "AccessControlException",
                "org.apache.hadoop.security.AccessControlException",
                "Permission denied: user=dr.who, access=WRITE, inode=\"/user\":hdfs:supergroup:drwxr-xr-x",
            ),
        ),
    })
    .await;
    let client = WebHdfsClient::new(&nn.url, None).unwrap();
    let err = client.file_status("/user/alice/nope").await.unwrap_err();
    assert!(matches!(err, WebHdfsError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("File does not exist: /user/alice/nope"),
        "{err}"
    );

    let err = client.mkdirs("/user/alice", None).await.unwrap_err();
    assert!(
        matches!(err, WebHdfsError::AccessDenied { op: "MKDIRS", .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("static web user"), "{text}");
    assert!(text.contains("user=dr.who, access=WRITE"), "{text}");
}

#[tokio::test]
async fn open_reads_through_the_redirect() {
    let dn = datanode(b"the file's bytes").await;
    let nn = namenode(&dn).await;
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    let data = client.open("/user/alice/x").await.unwrap();
    assert_eq!(&data[..], b"the file's bytes");
    assert_eq!(nn.requests()[0].param("op"), Some("OPEN"));
    assert_eq!(dn.requests()[0].method, "GET");
}

#[tokio::test]
async fn mkdirs_and_delete() {
    let nn = serve(|req| match req.param("op") {
        Some("MKDIRS") => Reply::json(200, r#"{"boolean":true}"#),
        Some("DELETE") => Reply::json(200, r#"{"boolean":false}"#),
        _ => Reply::empty(400),
    })
    .await;
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    assert!(
        client
            .mkdirs("/user/alice/.spindle", Some(0o700))
            .await
            .unwrap()
    );
    assert!(!client.delete("/user/alice/.spindle", true).await.unwrap());
    let reqs = nn.requests();
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].param("permission")),
        ("PUT", Some("700"))
    );
    assert_eq!(reqs[1].method, "DELETE");
    assert_eq!(reqs[1].param("recursive"), Some("true"));
    assert_eq!(reqs[1].param("user.name"), Some("alice"));
}

#[tokio::test]
async fn uploads_a_local_file_as_a_local_resource() {
    let dn = datanode(b"").await;
    let nn = namenode(&dn).await;
    let local = std::env::temp_dir().join(format!("spindle-webhdfs-test-{}", std::process::id()));
    std::fs::write(&local, b"hello world").unwrap();
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    let options = CreateOptions {
        overwrite: true,
        ..CreateOptions::default()
    };
    let uploaded = client
        .upload_local_resource(
            &local,
            "/user/alice/.spindle/app/spindle",
            Some("hdfs://nn.example:8020"),
            &options,
        )
        .await
        .unwrap();
    std::fs::remove_file(&local).unwrap();
    assert_eq!(
        uploaded.uri,
        "hdfs://nn.example:8020/user/alice/.spindle/app/spindle"
    );
    assert_eq!((uploaded.size, uploaded.timestamp), (11, 1_700_000_201_234));
    assert_eq!(dn.requests()[0].body, b"hello world");
    let ops: Vec<_> = nn
        .requests()
        .iter()
        .map(|r: &Recorded| r.param("op").unwrap().to_owned())
        .collect();
    assert_eq!(ops, ["CREATE", "GETFILESTATUS"]);

    let resource = uploaded.local_resource("FILE", "APPLICATION");
    assert_eq!(
        serde_json::to_value(&resource).unwrap(),
        serde_json::json!({"resource": "hdfs://nn.example:8020/user/alice/.spindle/app/spindle",
            "type": "FILE", "visibility": "APPLICATION", "size": 11, "timestamp": 1700000201234i64})
    );

    // Without fs.defaultFS the NameNode's WebHDFS address is used.
    let uploaded_again = {
        std::fs::write(&local, b"hello world").unwrap();
        let u = client
            .upload_local_resource(&local, "/tmp/spindle", None, &options)
            .await
            .unwrap();
        std::fs::remove_file(&local).unwrap();
        u
    };
    assert_eq!(
        uploaded_again.uri,
        format!("webhdfs://127.0.0.1:{}/tmp/spindle", nn.addr.port())
    );
}

#[tokio::test]
async fn a_missing_local_file_is_named() {
    let client = WebHdfsClient::new("http://127.0.0.1:9", None).unwrap();
    let err = client
        .upload_local_resource(
            std::path::Path::new("/nonexistent/spindle-binary"),
            "/x",
            None,
            &CreateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read /nonexistent/spindle-binary"),
        "{err}"
    );
}

#[tokio::test]
async fn connection_refused_says_what_to_check() {
    let down = refused_address().await;
    let client = WebHdfsClient::new(&down, Some("alice")).unwrap();
    let err = client.file_status("/user/alice").await.unwrap_err();
    assert!(matches!(err, WebHdfsError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&down), "{text}");
    assert!(text.contains("dfs.namenode.http-address"), "{text}");
    assert!(!text.contains("user.name"), "no query in messages: {text}");
}

#[tokio::test]
async fn relative_and_dotted_paths_are_rejected_before_any_request() {
    let calls = Arc::new(Mutex::new(0));
    let seen = calls.clone();
    let nn = serve(move |_| {
        *seen.lock().unwrap() += 1;
        Reply::empty(500)
    })
    .await;
    let client = WebHdfsClient::new(&nn.url, None).unwrap();
    for bad in ["user/alice", "/user/../etc", "/user/./x"] {
        let err = client.file_status(bad).await.unwrap_err();
        assert!(matches!(err, WebHdfsError::Invalid(_)), "{bad}: {err:?}");
    }
    assert_eq!(*calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn an_unreachable_datanode_is_named_as_such() {
    let down = refused_address().await;
    let nn = serve(move |req| {
        Reply::empty(307).with_header("location", format!("{down}{}?op=CREATE", req.path))
    })
    .await;
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    let err = client
        .create("/user/alice/x", vec![1u8], &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebHdfsError::DataNodeUnreachable { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("the DataNode at http://127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test]
async fn the_user_goes_to_the_datanode_even_if_the_redirect_leaves_it_out() {
    let dn = datanode(b"data").await;
    let dn_url = dn.url.clone();
    let nn = serve(move |req| {
        Reply::empty(307).with_header("location", format!("{dn_url}{}?op=OPEN&offset=0", req.path))
    })
    .await;
    let client = WebHdfsClient::new(&nn.url, Some("alice")).unwrap();
    assert_eq!(&client.open("/user/alice/x").await.unwrap()[..], b"data");
    let step2 = &dn.requests()[0];
    assert_eq!(step2.param("user.name"), Some("alice"));
    assert_eq!(step2.param("offset"), Some("0"));
    assert_eq!(
        step2.query.iter().filter(|(k, _)| k == "user.name").count(),
        1
    );
}

#[tokio::test]
async fn moves_on_from_a_standby_or_unreachable_namenode() {
    let down = refused_address().await;
    let standby = serve(|_| {
        Reply::json(
            403,
            &remote(
                "StandbyException",
                "org.apache.hadoop.ipc.StandbyException",
                "Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error",
            ),
        )
    })
    .await;
    let dn = datanode(b"").await;
    let active = namenode(&dn).await;
    let client =
        WebHdfsClient::for_namenodes(&[&down, &standby.url, &active.url], Some("alice")).unwrap();
    let status = client.file_status("/user/alice/x").await.unwrap();
    assert_eq!(status.length, 11);
    assert_eq!(client.url().as_str(), format!("{}/", active.url));
    // The active NameNode is remembered.
    client
        .create("/user/alice/y", vec![7u8], &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(standby.requests().len(), 1);
    assert_eq!(active.requests().len(), 2);
    assert_eq!(dn.requests()[0].body, [7]);

    // Only standbys: the error says so.
    let client = WebHdfsClient::for_namenodes(&[&standby.url, &down], None).unwrap();
    let err = client.file_status("/x").await.unwrap_err();
    assert!(matches!(err, WebHdfsError::Unreachable { .. }), "{err:?}");
    let client = WebHdfsClient::for_namenodes(&[&down, &standby.url], None).unwrap();
    let err = client.file_status("/x").await.unwrap_err();
    assert!(err.to_string().contains("StandbyException"), "{err}");
}
