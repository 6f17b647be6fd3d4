//! Delivery of the answer to the presigned ResponseURL.
//!
//! The URL comes from the event, so it is checked before anything is sent: only HTTPS to an S3
//! endpoint of an AWS partition (plus configured prefixes for local runs). Otherwise anyone who
//! can invoke the function could make it send requests into its VPC or to the metadata service.
//!
//! The query string of a presigned URL is a credential: it never appears in a log line or an
//! error message; `redact` is the only way a URL is shown.

use reqwest::{StatusCode, Url, header::CONTENT_TYPE};
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;
use tokio::time::Instant;

/// DNS suffixes of the AWS partitions (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc).
const PARTITION_SUFFIXES: [&str; 6] = [
    "amazonaws.com",
    "amazonaws.com.cn",
    "c2s.ic.gov",
    "sc2s.sgov.gov",
    "cloud.adc-e.uk",
    "csp.hci.ic.gov",
];
const EUSC_SUFFIX: &str = "amazonaws.eu";

const MAX_ATTEMPTS: u32 = 6;
const MAX_ATTEMPT_TIME: Duration = Duration::from_secs(10);
const MIN_FIRST_ATTEMPT: Duration = Duration::from_secs(2);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The URL without its query string or fragment, safe to log.
pub fn redact(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let shown = &url[..end];
    if end < url.len() {
        format!("{shown}?<redacted>")
    } else {
        shown.to_string()
    }
}

/// Accepts the ResponseURL or says why not (without repeating its query string).
pub fn check_response_url(url: &str, extra_prefixes: &[String]) -> Result<Url, String> {
    let refuse = |why: &str| Err(format!("ResponseURL {} refused: {why}", redact(url)));
    let Ok(parsed) = Url::parse(url) else {
        return refuse("not a valid URL");
    };
    if extra_prefixes.iter().any(|p| url.starts_with(p.as_str())) {
        return Ok(parsed);
    }
    if parsed.scheme() != "https" {
        return refuse("only https:// is accepted");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return refuse("credentials in the URL are not accepted");
    }
    if parsed.port().is_some_and(|p| p != 443) {
        return refuse("only the default https port is accepted");
    }
    // `domain()` is None for IP addresses, which are never S3 endpoints.
    let Some(host) = parsed.domain().map(str::to_ascii_lowercase) else {
        return refuse("the host must be an S3 endpoint name, not an address");
    };
    if !is_s3_host(&host) {
        return refuse(&format!(
            "{host} is not an S3 endpoint of an AWS partition (set UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES to allow others)"
        ));
    }
    Ok(parsed)
}

fn is_s3_host(host: &str) -> bool {
    let labels = PARTITION_SUFFIXES
        .iter()
        .chain(std::iter::once(&EUSC_SUFFIX))
        .find_map(|suffix| host.strip_suffix(suffix)?.strip_suffix('.'));
    labels.is_some_and(|labels| {
        labels
            .split('.')
            .any(|label| label == "s3" || label.starts_with("s3-"))
    })
}

/// PUTs `body` until S3 accepts it, retrying connection errors, 429 and 5xx with jittered
/// backoff while time remains before `deadline`. Any other answer is final: an expired URL
/// (403) does not get better by asking again.
pub async fn put(
    client: &reqwest::Client,
    url: &Url,
    body: Vec<u8>,
    deadline: Instant,
) -> Result<(), String> {
    let shown = redact(url.as_str());
    let mut backoff = FIRST_BACKOFF;
    let mut last_error = String::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let remaining = deadline.saturating_duration_since(Instant::now());
        // The first attempt is made whatever the clock says: sending costs nothing, and a
        // stack waits an hour for an answer that is never tried.
        let remaining = if attempt == 1 {
            remaining.max(MIN_FIRST_ATTEMPT)
        } else if remaining < Duration::from_millis(50) {
            break;
        } else {
            remaining
        };
        let sent = client
            .put(url.clone())
            // Empty, as the presigned URL was signed for: any other value breaks its signature.
            .header(CONTENT_TYPE, "")
            .body(body.clone())
            .timeout(remaining.min(MAX_ATTEMPT_TIME))
            .send()
            .await;
        let retry = match sent {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => {
                let status = resp.status();
                let detail = s3_error_code(resp).await;
                last_error = format!("HTTP {status}{detail}");
                status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            Err(err) => {
                last_error = describe(err);
                true
            }
        };
        tracing::warn!(attempt, url = %shown, error = %last_error, retry, "response PUT failed");
        if !retry {
            break;
        }
        let pause = jitter(backoff).min(deadline.saturating_duration_since(Instant::now()));
        tokio::time::sleep(pause).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    Err(format!(
        "the answer was not delivered to {shown}: {last_error}"
    ))
}

/// S3's error code from the body (`<Code>AccessDenied</Code>`), which says why without the URL.
async fn s3_error_code(resp: reqwest::Response) -> String {
    let body = resp.text().await.unwrap_or_default();
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| format!(" ({code})"))
        .unwrap_or_default()
}

/// The error and its causes, without the URL reqwest would include.
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Between half and all of `base`, so that retries from many functions spread out.
fn jitter(base: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let half = base / 2;
    half + Duration::from_nanos(random % (half.as_nanos() as u64 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(url: &str) -> bool {
        check_response_url(url, &[]).is_ok()
    }

    #[test]
    fn cloudformation_response_urls_are_accepted() {
        for url in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/x?X-Amz-Signature=abc",
            "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/k?AWSAccessKeyId=a&Signature=b",
            "https://cloudformation-custom-resource-response-useast1.s3-external-1.amazonaws.com/k",
            "https://bucket.s3.dualstack.us-east-2.amazonaws.com/k",
            "https://s3-fips.us-gov-west-1.amazonaws.com/bucket/k",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/k",
            "https://bucket.s3.us-iso-east-1.c2s.ic.gov/k",
            "https://bucket.s3.eusc-de-east-1.amazonaws.eu/k",
            "https://BUCKET.S3.AMAZONAWS.COM:443/k",
        ] {
            assert!(allowed(url), "{url} should be accepted");
        }
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        for (url, why) in [
            (
                "http://bucket.s3.amazonaws.com/k?X-Amz-Signature=secret",
                "only https://",
            ),
            ("https://169.254.169.254/latest/meta-data", "not an address"),
            ("https://[::1]/k", "not an address"),
            ("https://example.com/k", "example.com is not an S3 endpoint"),
            (
                "https://s3.amazonaws.com.evil.example/k",
                "is not an S3 endpoint",
            ),
            (
                "https://bucket.nots3.amazonaws.com/k",
                "is not an S3 endpoint",
            ),
            (
                "https://ec2.us-east-1.amazonaws.com/k",
                "is not an S3 endpoint",
            ),
            ("https://amazonaws.com/k", "is not an S3 endpoint"),
            ("https://user:pw@bucket.s3.amazonaws.com/k", "credentials"),
            (
                "https://bucket.s3.amazonaws.com:8443/k",
                "default https port",
            ),
            ("file:///etc/passwd", "only https://"),
            ("not a url", "not a valid URL"),
        ] {
            let err = check_response_url(url, &[]).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
            assert!(!err.contains("secret"), "query string leaked: {err}");
        }
    }

    #[test]
    fn extra_prefixes_allow_local_endpoints() {
        let extra = vec!["http://127.0.0.1:4566/".to_string()];
        assert!(check_response_url("http://127.0.0.1:4566/b/k?X-Amz-Signature=s", &extra).is_ok());
        assert!(check_response_url("http://127.0.0.1:4567/b/k", &extra).is_err());
        assert!(check_response_url("http://127.0.0.1:45660/b/k", &extra).is_err());
    }

    #[test]
    fn redaction_drops_query_and_fragment() {
        assert_eq!(
            redact("https://b.s3.amazonaws.com/k?X-Amz-Signature=secret&X-Amz-Credential=c"),
            "https://b.s3.amazonaws.com/k?<redacted>"
        );
        assert_eq!(redact("https://b/k#frag"), "https://b/k?<redacted>");
        assert_eq!(redact("https://b/k"), "https://b/k");
    }

    #[test]
    fn jitter_stays_between_half_and_whole() {
        for _ in 0..100 {
            let d = jitter(Duration::from_millis(400));
            assert!(
                d >= Duration::from_millis(200) && d <= Duration::from_millis(400),
                "{d:?}"
            );
        }
    }
}
