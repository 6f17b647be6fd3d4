//! A Lambda Runtime API on loopback, and the function binary running against it as Lambda runs
//! it: a process that polls `/next`, answers `/response` or `/error`, and keeps going.
//!
//! Being the Runtime API lets a test set each invocation's deadline and invoked ARN, send
//! payloads that are not JSON, and see whether the process survives.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

pub const FUNCTION_NAME: &str = "upsert-slr";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr";

/// How an invocation ended, as the Runtime API saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `/response`: the function result.
    Result(Value),
    /// `/error`: `{errorType, errorMessage}`.
    Error(Value),
}

impl Outcome {
    pub fn error_message(&self) -> String {
        match self {
            Outcome::Error(e) => e["errorMessage"].as_str().unwrap_or_default().to_string(),
            Outcome::Result(r) => panic!("expected an invocation error, got result {r}"),
        }
    }
}

struct Invocation {
    id: String,
    payload: Vec<u8>,
    deadline_ms: u64,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    polling: AtomicUsize,
    init_errors: Mutex<Vec<String>>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    queue: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    pub async fn start() -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(rx),
            pending: Mutex::new(HashMap::new()),
            polling: AtomicUsize::new(0),
            init_errors: Mutex::new(Vec::new()),
        });
        super::http_server::serve(listener, shared.clone(), route);
        Arc::new(RuntimeApi {
            addr,
            queue: tx,
            shared,
        })
    }

    /// Number of function processes waiting on `/next`.
    pub fn polling(&self) -> usize {
        self.shared.polling.load(Ordering::SeqCst)
    }

    pub async fn wait_for_pollers(&self, count: usize) {
        for _ in 0..600 {
            if self.polling() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "only {} of {count} functions are polling for events",
            self.polling()
        );
    }

    pub fn init_errors(&self) -> Vec<String> {
        self.shared.init_errors.lock().unwrap().clone()
    }

    /// Queues a raw payload with the given time to its deadline; resolves with the outcome.
    pub fn invoke_raw(&self, payload: Vec<u8>, timeout: Duration) -> oneshot::Receiver<Outcome> {
        let id = format!("{:032x}", fastrand::u128(..));
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id.clone(), tx);
        let deadline_ms = (SystemTime::now() + timeout)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        self.queue
            .send(Invocation {
                id,
                payload,
                deadline_ms,
            })
            .unwrap();
        rx
    }

    /// Invokes with a JSON event and waits (at most the timeout plus a grace period).
    pub async fn invoke(&self, event: &Value, timeout: Duration) -> Outcome {
        let rx = self.invoke_raw(serde_json::to_vec(event).unwrap(), timeout);
        await_outcome(rx, timeout).await
    }
}

pub async fn await_outcome(rx: oneshot::Receiver<Outcome>, timeout: Duration) -> Outcome {
    match tokio::time::timeout(timeout + Duration::from_secs(10), rx).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => panic!("the invocation was dropped"),
        Err(_) => panic!("no outcome within {timeout:?} plus grace: the function hung or died"),
    }
}

async fn route(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    let body = req.into_body().collect().await?.to_bytes();
    let ok = |status: u16, body: Bytes| {
        Response::builder()
            .status(status)
            .body(Full::new(body))
            .unwrap()
    };
    if path == "/2018-06-01/runtime/invocation/next" {
        shared.polling.fetch_add(1, Ordering::SeqCst);
        let next = shared.queue.lock().await.recv().await;
        shared.polling.fetch_sub(1, Ordering::SeqCst);
        let Some(inv) = next else {
            return Ok(ok(410, Bytes::new()));
        };
        return Ok(Response::builder()
            .status(200)
            .header("Lambda-Runtime-Aws-Request-Id", &inv.id)
            .header("Lambda-Runtime-Deadline-Ms", inv.deadline_ms.to_string())
            .header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000;Sampled=0",
            )
            .body(Full::new(Bytes::from(inv.payload)))
            .unwrap());
    }
    if path == "/2018-06-01/runtime/init/error" {
        shared
            .init_errors
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&body).into());
        return Ok(ok(202, Bytes::new()));
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["2018-06-01", "runtime", "invocation", id, kind] = parts.as_slice() {
        let value: Value = serde_json::from_slice(&body)
            .unwrap_or(Value::String(String::from_utf8_lossy(&body).into()));
        let outcome = match *kind {
            "response" => Outcome::Result(value),
            "error" => Outcome::Error(value),
            _ => return Ok(ok(404, Bytes::new())),
        };
        if let Some(tx) = shared.pending.lock().unwrap().remove(*id) {
            let _ = tx.send(outcome);
        }
        return Ok(ok(202, Bytes::new()));
    }
    Ok(ok(404, Bytes::new()))
}

/// The environment that sends the function's IAM calls to `iam` and lets it answer to URLs under
/// `answers_at` (a loopback server, which it refuses otherwise), with example credentials.
pub fn loopback_env(iam: &str, answers_at: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_IAM", iam.to_string()),
        // The same server answers the CloudFormation reads a Delete makes: the actions differ.
        ("AWS_ENDPOINT_URL_CLOUDFORMATION", iam.to_string()),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
        ("AWS_SECRET_ACCESS_KEY", "secret".into()),
        (
            "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES",
            format!("{answers_at}/"),
        ),
    ]
}

/// The binary under test: `UPSERT_SLR_BINARY` when set (an artifact built elsewhere, such as
/// `sam build`'s bootstrap), otherwise the one cargo built for these tests.
fn binary() -> String {
    std::env::var("UPSERT_SLR_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_upsert-slr").to_string())
}

/// The function binary, started as Lambda starts it, its output captured. When it is dropped
/// its output is also written under `target/tmp/function-logs/`, which `make test` sweeps for
/// presigned-URL signatures.
pub struct Function {
    child: tokio::process::Child,
    logs: Arc<Mutex<String>>,
}

impl Drop for Function {
    fn drop(&mut self) {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("function-logs");
        let _ = std::fs::create_dir_all(&dir);
        let name = format!("{}-{}.log", std::process::id(), fastrand::u64(..));
        let _ = std::fs::write(dir.join(name), self.logs());
    }
}

impl Function {
    pub fn start(api: &RuntimeApi, env: &[(&str, String)]) -> Function {
        let binary = binary();
        let mut cmd = tokio::process::Command::new(&binary);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_REGION", "us-east-1")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start the function binary {binary}: {e}"));
        let logs = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let logs = logs.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut logs = logs.lock().unwrap();
                    logs.push_str(&line);
                    logs.push('\n');
                }
            });
        }
        Function { child, logs }
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Checks the process is still serving and its logs hold no panic and no presigned-URL
    /// credential (`make test` sweeps every captured log for the same markers).
    pub fn assert_sound(&mut self) {
        let logs = self.logs();
        assert!(self.is_alive(), "the function process died\n{logs}");
        assert!(!logs.contains("panicked"), "{logs}");
        for marker in secret_markers() {
            assert!(!logs.contains(marker), "logs contain {marker}:\n{logs}");
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }
}

/// The markers of a presigned URL's credential, one a line in `secret-markers.txt`.
pub fn secret_markers() -> impl Iterator<Item = &'static str> {
    include_str!("secret-markers.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}
