//! LocalStack on the host as IAM and S3. Each test works in an account of its own (LocalStack
//! takes a 12-digit access key as the account id), so tests neither see each other's roles nor
//! depend on what earlier runs left behind.
//!
//! Response URLs are presigned the way CloudFormation presigns them (S3 signature version 2,
//! whose signature covers the Content-Type) and LocalStack is started with signature checks
//! on, so a PUT with the wrong headers is refused here as it would be by S3.

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use base64::Engine;
use ring::hmac;
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const BUCKET: &str = "cfn-responses";
/// LocalStack's default credentials: the bucket lives in its default account.
const S3_KEY: &str = "test";
const S3_SECRET: &str = "test";

/// The function's own HTTP client (it brings its TLS configuration).
fn http() -> reqwest::Client {
    upsert_slr::adapters::clients::http_client().unwrap()
}

pub fn endpoint() -> String {
    std::env::var("LOCALSTACK_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

/// Fails the test, with what to do, when LocalStack is not there.
pub async fn require() {
    let url = format!("{}/_localstack/health", endpoint());
    let health = http()
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status());
    if let Err(err) = health {
        panic!(
            "LocalStack is not reachable at {} ({err}). These tests need it: run `make test`, \
             which installs and starts it, or `make localstack-start` and set LOCALSTACK_ENDPOINT.",
            endpoint()
        );
    }
    let create = http()
        .put(format!("{}/{BUCKET}", endpoint()))
        .send()
        .await
        .unwrap();
    assert!(
        create.status().is_success() || create.status().as_u16() == 409,
        "create bucket: {}",
        create.status()
    );
}

pub fn fresh_account() -> String {
    format!("{:012}", fastrand::u64(100_000_000_000..999_999_999_999))
}

/// Environment that points the function at LocalStack as `account`.
pub fn function_env(account: &str) -> Vec<(&'static str, String)> {
    function_env_at(account, &endpoint())
}

/// The same, with the function's AWS calls sent to `aws` (the IAM gate in front of LocalStack);
/// its answers still go to LocalStack's S3.
pub fn function_env_at(account: &str, aws: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", aws.to_string()),
        ("AWS_ACCESS_KEY_ID", account.to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        (
            "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES",
            format!("{}/{BUCKET}/", endpoint()),
        ),
    ]
}

pub fn iam(account: &str) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(upsert_slr::adapters::clients::SdkHttpClient::new(http()))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(account, "test", None, None, "test"))
        .endpoint_url(endpoint())
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// A presigned PUT URL for `key`, valid for `valid_for`, as CloudFormation makes them.
pub fn presigned_put(key: &str, valid_for: Duration) -> String {
    let expires = (SystemTime::now() + valid_for)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let string_to_sign = format!("PUT\n\n\n{expires}\n/{BUCKET}/{key}");
    let signing_key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, S3_SECRET.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD
        .encode(hmac::sign(&signing_key, string_to_sign.as_bytes()).as_ref());
    let signature = signature
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!(
        "{}/{BUCKET}/{key}?AWSAccessKeyId={S3_KEY}&Expires={expires}&Signature={signature}",
        endpoint()
    )
}

/// A stack CloudFormation (LocalStack's) holds in `account`, created from `template` and
/// waited for: its StackId. The call is LocalStack's query API; it checks no signature.
pub async fn create_stack(account: &str, name: &str, template: &str) -> String {
    let created = cloudformation(
        account,
        &[
            ("Action", "CreateStack"),
            ("StackName", name),
            ("TemplateBody", template),
        ],
    )
    .await;
    let stack_id = between(&created, "<StackId>", "</StackId>")
        .unwrap_or_else(|| panic!("CreateStack: {created}"));
    for _ in 0..100 {
        let described = cloudformation(
            account,
            &[("Action", "DescribeStacks"), ("StackName", &stack_id)],
        )
        .await;
        match between(&described, "<StackStatus>", "</StackStatus>").as_deref() {
            Some("CREATE_COMPLETE") => return stack_id,
            Some(status) if !status.ends_with("IN_PROGRESS") => {
                panic!("{name}: {status}: {described}")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("{name} was not created in 20 s")
}

async fn cloudformation(account: &str, params: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Version", "2010-05-15");
    for (k, v) in params {
        form.append_pair(k, v);
    }
    let body = form.finish();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/cloudformation/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    http()
        .post(format!("{}/", endpoint()))
        .header("authorization", auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(text[from..to].to_string())
}

pub fn new_key() -> String {
    format!("answers/{:032x}", fastrand::u128(..))
}

/// What CloudFormation would read: the object PUT at `key`, if any.
pub async fn answer(key: &str) -> Option<Value> {
    let resp = http()
        .get(format!("{}/{BUCKET}/{key}", endpoint()))
        .send()
        .await
        .unwrap();
    if resp.status().as_u16() == 404 {
        return None;
    }
    assert!(resp.status().is_success(), "GET answer: {}", resp.status());
    let body = resp.bytes().await.unwrap();
    assert!(body.len() <= 4096, "answer of {} bytes", body.len());
    Some(serde_json::from_slice(&body).expect("the answer is JSON"))
}
