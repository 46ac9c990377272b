//! The RPC client against the RPC server: TOKEN authentication at every protection level with
//! concurrent calls, SIMPLE authentication, error mapping, out-of-order answers, reconnection, token
//! replacement and timeouts.

mod ipc_support;

use std::time::Duration;

use ipc_support::{PROTOCOL, TestService, TextProto, WhoProto, text, tokens};
use yarn::ipc::{Auth, AuthToken, Client, ClientConfig, RemoteErrorKind, RpcError, Server};
use yarn::sasl::Qop;

async fn token_server(protection: &[Qop]) -> Server {
    Server::builder()
        .protocol(PROTOCOL, TestService::new())
        .token_auth(tokens())
        .protection(protection)
        .bind("127.0.0.1:0")
        .await
        .unwrap()
}

fn token_client(server: &Server, identifier: &[u8], password: &[u8], accept: &[Qop]) -> Client {
    let mut config = ClientConfig::new(
        server.local_addr().to_string(),
        PROTOCOL,
        Auth::Token(AuthToken::new(identifier.to_vec(), password.to_vec())),
    );
    config.protection = accept.to_vec();
    Client::new(config)
}

async fn echo(client: &Client, s: &str) -> Result<String, RpcError> {
    let reply: TextProto = client.call("echo", &text(s)).await?;
    Ok(reply.text.unwrap_or_default())
}

#[tokio::test]
async fn token_auth_at_every_protection_level_with_concurrent_calls() {
    for qop in [Qop::Auth, Qop::AuthInt, Qop::AuthConf] {
        let server = token_server(&[qop]).await;
        let client = token_client(&server, b"ident-1", b"password-1", &[qop]);
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..32 {
            let client = client.clone();
            calls.spawn(async move { (i, echo(&client, &format!("message {i}")).await) });
        }
        while let Some(joined) = calls.join_next().await {
            let (i, reply) = joined.unwrap();
            assert_eq!(reply.unwrap(), format!("message {i}"), "{qop}");
        }
        // Larger than one wrapped message (64 KiB), so frames span several WRAP messages both ways.
        let big = "x".repeat(300_000);
        assert_eq!(echo(&client, &big).await.unwrap(), big, "{qop}");
        let who: WhoProto = client.call("whoami", &text("")).await.unwrap();
        assert_eq!(who.user.as_deref(), Some("appattempt_1_0001_000001"));
        assert_eq!(who.identifier.as_deref(), Some(&b"ident-1"[..]));
        assert_eq!(who.qop.as_deref(), Some(qop.as_str()));
        assert_eq!(who.token, Some(true));
    }
}

#[tokio::test]
async fn client_takes_its_preferred_level_among_those_offered() {
    let server = token_server(&[Qop::Auth, Qop::AuthInt, Qop::AuthConf]).await;
    let client = token_client(
        &server,
        b"ident-1",
        b"password-1",
        &[Qop::AuthConf, Qop::Auth],
    );
    let who: WhoProto = client.call("whoami", &text("")).await.unwrap();
    assert_eq!(who.qop.as_deref(), Some("auth-conf"));

    let strict = token_server(&[Qop::AuthConf]).await;
    let client = token_client(&strict, b"ident-1", b"password-1", &[Qop::Auth]);
    let err = echo(&client, "x").await.unwrap_err();
    assert!(matches!(err, RpcError::Sasl { .. }), "{err}");
    assert!(
        err.to_string().contains("no common protection level"),
        "{err}"
    );
}

#[tokio::test]
async fn simple_auth_names_the_user() {
    let server = Server::builder()
        .protocol(PROTOCOL, TestService::new())
        .simple_auth(true)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::new(ClientConfig::new(
        server.local_addr().to_string(),
        PROTOCOL,
        Auth::Simple {
            user: "alice".into(),
        },
    ));
    let who: WhoProto = client.call("whoami", &text("")).await.unwrap();
    assert_eq!(who.user.as_deref(), Some("alice"));
    assert_eq!(who.token, Some(false));
    assert_eq!(who.identifier, None);

    // A token client against a SIMPLE-only server is told plainly.
    let client = token_client(&server, b"ident-1", b"password-1", &[Qop::Auth]);
    let err = echo(&client, "x").await.unwrap_err();
    assert!(err.to_string().contains("only accepts SIMPLE"), "{err}");
}

#[tokio::test]
async fn server_offering_token_and_simple_serves_both() {
    let server = Server::builder()
        .protocol(PROTOCOL, TestService::new())
        .simple_auth(true)
        .token_auth(tokens())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let simple = Client::new(ClientConfig::new(
        server.local_addr().to_string(),
        PROTOCOL,
        Auth::Simple { user: "bob".into() },
    ));
    let who: WhoProto = simple.call("whoami", &text("")).await.unwrap();
    assert_eq!(who.user.as_deref(), Some("bob"));
    let token = token_client(&server, b"ident-2", b"password-2", &[Qop::Auth]);
    let who: WhoProto = token.call("whoami", &text("")).await.unwrap();
    assert_eq!(who.identifier.as_deref(), Some(&b"ident-2"[..]));
}

#[tokio::test]
async fn bad_tokens_are_refused_and_the_server_keeps_serving() {
    let server = token_server(&[Qop::Auth]).await;
    let wrong = token_client(&server, b"ident-1", b"not-the-password", &[Qop::Auth]);
    let err = echo(&wrong, "x").await.unwrap_err();
    let RpcError::Remote { error, .. } = &err else {
        panic!("expected a remote error, got {err}")
    };
    assert_eq!(error.class_name, "javax.security.sasl.SaslException");
    assert!(error.fatal);
    assert!(!err.to_string().contains("not-the-password"));

    let unknown = token_client(&server, b"ident-9", b"password-1", &[Qop::Auth]);
    let err = echo(&unknown, "x").await.unwrap_err();
    assert_eq!(
        err.remote_kind(),
        Some(RemoteErrorKind::InvalidToken),
        "{err}"
    );
    assert!(err.to_string().contains("unknown master key"), "{err}");
    assert!(!err.is_retriable());

    let good = token_client(&server, b"ident-1", b"password-1", &[Qop::Auth]);
    assert_eq!(echo(&good, "still here").await.unwrap(), "still here");
}

#[tokio::test]
async fn remote_exceptions_map_to_kinds_and_keep_the_connection() {
    let server = token_server(&[Qop::AuthInt]).await;
    let client = token_client(&server, b"ident-1", b"password-1", &[Qop::AuthInt]);
    let cases = [
        (
            "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException",
            RemoteErrorKind::InvalidResourceRequest,
        ),
        (
            "org.apache.hadoop.yarn.exceptions.InvalidContainerReleaseException",
            RemoteErrorKind::InvalidContainerRelease,
        ),
        (
            "org.apache.hadoop.yarn.exceptions.ApplicationAttemptNotFoundException",
            RemoteErrorKind::ApplicationAttemptNotFound,
        ),
        (
            "org.apache.hadoop.security.AccessControlException",
            RemoteErrorKind::AccessControl,
        ),
        ("java.lang.IllegalStateException", RemoteErrorKind::Other),
    ];
    for (class, kind) in cases {
        let err = client
            .call::<_, TextProto>("fail", &text(class))
            .await
            .unwrap_err();
        let RpcError::Remote { error, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(error.kind, kind);
        assert_eq!(error.class_name, class);
        assert!(!error.fatal);
        assert!(error.message.starts_with("failing on purpose"));
    }
    let err = client
        .call::<_, TextProto>("yarn", &text(""))
        .await
        .unwrap_err();
    assert_eq!(
        err.remote_kind(),
        Some(RemoteErrorKind::ApplicationMasterNotRegistered)
    );
    let err = client
        .call::<_, TextProto>("noSuchMethod", &text(""))
        .await
        .unwrap_err();
    assert_eq!(err.remote_kind(), Some(RemoteErrorKind::NoSuchMethod));
    assert!(
        err.to_string().contains("Unknown method noSuchMethod"),
        "{err}"
    );
    let err = client
        .call::<_, TextProto>("panic", &text(""))
        .await
        .unwrap_err();
    let RpcError::Remote { error, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(error.class_name, "org.apache.hadoop.ipc.RpcServerException");
    assert!(!error.fatal);
    // Errors keep the connection: the server still answers on it.
    assert_eq!(echo(&client, "after errors").await.unwrap(), "after errors");

    let mut config = ClientConfig::new(
        server.local_addr().to_string(),
        "org.example.Unknown",
        Auth::Token(AuthToken::new(b"ident-1".to_vec(), b"password-1".to_vec())),
    );
    config.protection = vec![Qop::AuthInt];
    let other = Client::new(config);
    let err = echo(&other, "x").await.unwrap_err();
    assert_eq!(
        err.remote_kind(),
        Some(RemoteErrorKind::NoSuchProtocol),
        "{err}"
    );
}

#[tokio::test]
async fn answers_may_come_out_of_order_on_one_connection() {
    for qop in [Qop::Auth, Qop::AuthConf] {
        let server = token_server(&[qop]).await;
        let client = token_client(&server, b"ident-1", b"password-1", &[qop]);
        let held = {
            let client = client.clone();
            tokio::spawn(async move { client.call::<_, TextProto>("hold", &text("")).await })
        };
        // `open` is answered while `hold` is still outstanding on the same connection.
        let opened: TextProto = client.call("open", &text("")).await.unwrap();
        assert_eq!(opened.text.as_deref(), Some("opened"));
        let released = held.await.unwrap().unwrap();
        assert_eq!(released.text.as_deref(), Some("released"));
    }
}

#[tokio::test]
async fn a_dropped_connection_fails_outstanding_calls_and_the_next_call_reconnects() {
    let server = token_server(&[Qop::AuthConf]).await;
    let client = token_client(&server, b"ident-1", b"password-1", &[Qop::AuthConf]);
    assert_eq!(echo(&client, "before").await.unwrap(), "before");
    let held = {
        let client = client.clone();
        tokio::spawn(async move { client.call::<_, TextProto>("hold", &text("")).await })
    };
    // Make sure `hold` is in flight before the server drops the connection.
    assert_eq!(echo(&client, "in flight").await.unwrap(), "in flight");
    server.close_connections();
    let err = held.await.unwrap().unwrap_err();
    assert!(matches!(err, RpcError::ConnectionClosed { .. }), "{err}");
    assert!(err.is_retriable());
    assert_eq!(echo(&client, "after").await.unwrap(), "after");
}

#[tokio::test]
async fn a_replaced_token_is_used_by_the_next_connection() {
    let server = token_server(&[Qop::Auth]).await;
    let client = token_client(&server, b"ident-1", b"password-1", &[Qop::Auth]);
    let who: WhoProto = client.call("whoami", &text("")).await.unwrap();
    assert_eq!(who.identifier.as_deref(), Some(&b"ident-1"[..]));
    client.set_token(AuthToken::new(b"ident-2".to_vec(), b"password-2".to_vec()));
    // The authenticated connection stays until it is closed.
    let who: WhoProto = client.call("whoami", &text("")).await.unwrap();
    assert_eq!(who.identifier.as_deref(), Some(&b"ident-1"[..]));
    client.close().await;
    let who: WhoProto = client.call("whoami", &text("")).await.unwrap();
    assert_eq!(who.identifier.as_deref(), Some(&b"ident-2"[..]));
}

#[tokio::test]
async fn a_call_without_an_answer_times_out() {
    let server = token_server(&[Qop::Auth]).await;
    let mut config = ClientConfig::new(
        server.local_addr().to_string(),
        PROTOCOL,
        Auth::Token(AuthToken::new(b"ident-1".to_vec(), b"password-1".to_vec())),
    );
    config.call_timeout = Duration::from_millis(300);
    let client = Client::new(config);
    let err = client
        .call::<_, TextProto>("hold", &text(""))
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::Timeout { .. }), "{err}");
    assert!(err.is_retriable());
    // The connection is still good for other calls.
    assert_eq!(echo(&client, "next").await.unwrap(), "next");
}

#[tokio::test]
async fn connection_refused_is_a_retriable_io_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let client = Client::new(ClientConfig::new(
        address,
        PROTOCOL,
        Auth::Simple { user: "u".into() },
    ));
    let err = echo(&client, "x").await.unwrap_err();
    assert!(err.is_retriable(), "{err}");
}
