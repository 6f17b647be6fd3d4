//! Delivery of the answer to the presigned ResponseURL.
//!
//! The URL comes from the event, so it is checked before anything is sent: only HTTPS to an S3
//! endpoint of an AWS partition (plus configured prefixes for local runs). Otherwise anyone who
//! can invoke the function could make it send requests into its VPC or to the metadata service.
//!
//! The query string of a presigned URL is a credential: it never appears in a log line or an
//! error message; `redact` is the only way a URL is shown.

use crate::backoff::Backoff;
use reqwest::{StatusCode, Url, header::CONTENT_TYPE};
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

/// A place besides S3's endpoints where answers may go (a local CloudFormation emulator):
/// an origin, and a path prefix ending in `/`. Compared by parts, never as text, so that
/// `http://127.0.0.1:4566` admits neither `http://127.0.0.1:45660/` nor
/// `http://127.0.0.1:4566@elsewhere/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseUrlPrefix {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: String,
}

impl ResponseUrlPrefix {
    /// A whole origin (`http://127.0.0.1:4566`) or a URL ending in `/`, without credentials,
    /// query or fragment.
    pub fn parse(text: &str) -> Result<Self, String> {
        let refuse = |why: &str| {
            Err(format!(
                "{text:?} is not a ResponseURL prefix: {why} (give an origin such as \
                 http://127.0.0.1:4566, or a URL ending in /)"
            ))
        };
        let Ok(url) = Url::parse(text) else {
            return refuse("not a URL");
        };
        let Some(host) = url.host_str() else {
            return refuse("it has no host");
        };
        if !url.username().is_empty() || url.password().is_some() {
            return refuse("it carries credentials");
        }
        if url.query().is_some() || url.fragment().is_some() {
            return refuse("it has a query or fragment");
        }
        if !url.path().ends_with('/') {
            return refuse("its path does not end in /");
        }
        Ok(ResponseUrlPrefix {
            scheme: url.scheme().to_string(),
            host: host.to_string(),
            port: url.port_or_known_default(),
            path: url.path().to_string(),
        })
    }

    fn admits(&self, url: &Url) -> bool {
        url.scheme() == self.scheme
            && url.host_str() == Some(self.host.as_str())
            && url.port_or_known_default() == self.port
            && url.username().is_empty()
            && url.password().is_none()
            && url.path().starts_with(&self.path)
    }
}

/// Accepts the ResponseURL or says why not (without repeating its query string).
pub fn check_response_url(url: &str, extra_prefixes: &[ResponseUrlPrefix]) -> Result<Url, String> {
    let refuse = |why: &str| Err(format!("ResponseURL {} refused: {why}", redact(url)));
    let Ok(parsed) = Url::parse(url) else {
        return refuse("not a valid URL");
    };
    if extra_prefixes.iter().any(|p| p.admits(&parsed)) {
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
/// (403) does not get better by asking again, and a redirect is not followed, since only the
/// URL checked above may receive the answer.
pub async fn put(
    client: &reqwest::Client,
    url: &Url,
    body: Vec<u8>,
    deadline: Instant,
) -> Result<(), String> {
    let shown = redact(url.as_str());
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
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
                let detail = if status.is_redirection() {
                    " (redirects are not followed)".to_string()
                } else {
                    s3_error_code(resp).await
                };
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
        let pause = backoff
            .pause()
            .min(deadline.saturating_duration_since(Instant::now()));
        tokio::time::sleep(pause).await;
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
        let prefixes = |list: &[&str]| -> Vec<ResponseUrlPrefix> {
            list.iter()
                .map(|p| ResponseUrlPrefix::parse(p).unwrap())
                .collect()
        };
        for extra in [
            prefixes(&["http://127.0.0.1:4566/"]),
            prefixes(&["http://127.0.0.1:4566"]),
        ] {
            assert!(
                check_response_url("http://127.0.0.1:4566/b/k?X-Amz-Signature=s", &extra).is_ok()
            );
            for refused in [
                "http://127.0.0.1:4567/b/k",
                "http://127.0.0.1:45660/b/k",
                "https://127.0.0.1:4566/b/k",
                "http://127.0.0.1:4566@other-host/b/k",
                "http://user:pass@127.0.0.1:4566/b/k",
                "http://127.0.0.10:4566/b/k",
            ] {
                assert!(check_response_url(refused, &extra).is_err(), "{refused}");
            }
        }
        let bucket = prefixes(&["http://localhost:4566/bucket/"]);
        assert!(check_response_url("http://LOCALHOST:4566/bucket/k", &bucket).is_ok());
        assert!(check_response_url("http://localhost:4566/bucket2/k", &bucket).is_err());
        assert!(check_response_url("http://localhost:4566/k", &bucket).is_err());
    }

    #[test]
    fn a_prefix_is_a_whole_origin_or_ends_in_a_slash() {
        for good in [
            "http://127.0.0.1:4566",
            "http://127.0.0.1:4566/",
            "https://example.test/answers/",
        ] {
            assert!(ResponseUrlPrefix::parse(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("http://127.0.0.1:4566/buck", "does not end in /"),
            ("http://u:p@127.0.0.1:4566/", "credentials"),
            ("http://127.0.0.1:4566/?a=b", "query"),
            ("127.0.0.1:4566", "not a URL"),
        ] {
            let err = ResponseUrlPrefix::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
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
}
