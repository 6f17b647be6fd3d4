//! IAM and the ResponseURL over HTTPS, as in Lambda: one server on loopback with a certificate
//! from a throwaway CA plays both. The function trusts the roots compiled into it plus
//! `SSL_CERT_FILE`; given the CA there, both calls go through TLS, and without it the server's
//! certificate is refused and nothing is sent in the clear.

mod support;

use support::{cfn, iam_wire, runtime_api};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use runtime_api::{Function, Outcome, RuntimeApi};
use rustls::pki_types::PrivateKeyDer;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// What the HTTPS server saw: completed requests (method, IAM action or path, body) and failed
/// handshakes.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<(String, String, Vec<u8>)>>,
    failed_handshakes: AtomicUsize,
}

struct HttpsServer {
    url: String,
    ca_file: std::path::PathBuf,
    seen: Arc<Seen>,
}

async fn https_server() -> HttpsServer {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    )
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let ca_file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("test-ca-{:x}.pem", fastrand::u64(..)));
    std::fs::write(&ca_file, ca.pem()).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let server_seen = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), server_seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    seen.failed_handshakes.fetch_add(1, Ordering::SeqCst);
                    return;
                };
                let service = hyper::service::service_fn(move |req| answer(seen.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    HttpsServer {
        url: format!("https://localhost:{port}"),
        ca_file,
        seen,
    }
}

/// IAM's answers to POSTs, 200 to the answer's PUT.
async fn answer(
    seen: Arc<Seen>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let body = req.into_body().collect().await?.to_bytes().to_vec();
    let form = String::from_utf8_lossy(&body).to_string();
    let action = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or(&path)
        .to_string();
    let xml = match action.as_str() {
        "CreateServiceLinkedRole" => format!(
            "<CreateServiceLinkedRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateServiceLinkedRoleResult>{}</CreateServiceLinkedRoleResult></CreateServiceLinkedRoleResponse>",
            iam_wire::role_xml("ecs.amazonaws.com", "AWSServiceRoleForECS", &[])
        ),
        "TagRole" => "<TagRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"></TagRoleResponse>".to_string(),
        _ => String::new(),
    };
    seen.requests.lock().unwrap().push((method, action, body));
    Ok(Response::new(Full::new(Bytes::from(xml))))
}

/// A Create of the ECS role sent to the function, whose IAM and ResponseURL are `server`; with
/// `trust_ca` the function is given the server's CA.
async fn create_over_tls(trust_ca: bool) -> (HttpsServer, Function, Outcome) {
    let server = https_server().await;
    let api = RuntimeApi::start().await;
    let mut env = runtime_api::loopback_env(&server.url, &server.url);
    if trust_ca {
        env.push(("SSL_CERT_FILE", server.ca_file.display().to_string()));
    }
    let function = Function::start(&api, &env);
    let url = cfn::response_url(&server.url);
    let event = cfn::request("Create", &url, cfn::ecs_props());
    let outcome = api.invoke(&event, Duration::from_secs(10)).await;
    (server, function, outcome)
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_and_the_answer_go_over_tls_to_a_trusted_server() {
    let (server, mut function, outcome) = create_over_tls(true).await;

    assert!(
        matches!(outcome, Outcome::Result(_)),
        "{outcome:?}\n{}",
        function.logs()
    );
    let requests = server.seen.requests.lock().unwrap().clone();
    let calls: Vec<(&str, &str)> = requests
        .iter()
        .map(|(m, a, _)| (m.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "CreateServiceLinkedRole"),
            ("POST", "TagRole"),
            ("PUT", "/cfn/answer")
        ]
    );
    let put: Value = serde_json::from_slice(&requests[2].2).unwrap();
    assert_eq!(put["Status"], "SUCCESS", "{put}");
    assert_eq!(put["Data"]["RoleName"], "AWSServiceRoleForECS");
    assert_eq!(server.seen.failed_handshakes.load(Ordering::SeqCst), 0);
    assert!(function.is_alive());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_refused_and_nothing_is_sent() {
    let (server, mut function, outcome) = create_over_tls(false).await;

    let message = outcome.error_message();
    assert!(
        message.contains("the answer was not delivered") && message.contains("certificate"),
        "{message}"
    );
    assert!(
        server.seen.requests.lock().unwrap().is_empty(),
        "a request went through an untrusted TLS session"
    );
    assert!(
        server.seen.failed_handshakes.load(Ordering::SeqCst) >= 2,
        "IAM and the answer were both refused"
    );
    let logs = function.logs();
    assert!(
        logs.contains("UnknownIssuer") || logs.contains("certificate"),
        "{logs}"
    );
    assert!(function.is_alive());
}
