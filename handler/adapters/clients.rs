//! The HTTP client and the AWS SDK configuration, built at init without file or network I/O.
//!
//! One HTTP stack serves both IAM and the ResponseURL: reqwest over rustls (with ring), trusting
//! the Mozilla root certificates compiled into the binary (plus those in `SSL_CERT_FILE`, when
//! set). Any other reqwest client needs a crypto provider installed first.
//! Reading the system's certificate store at start-up cost more than the rest of init together.
//!
//! Credentials come from the environment variables Lambda sets; the SDK's full default chain
//! (profile, web identity, container, IMDS) is built only if they are missing, on first use.

use aws_config::BehaviorVersion;
use aws_config::SdkConfig;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::{self, ProvideCredentials};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The HTTP client for IAM and for the answer's PUT.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        // The answer goes only where the ResponseURL check allowed; IAM does not redirect.
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(tls_config())
        .build()
}

fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        match CertificateDer::pem_file_iter(&path) {
            Ok(certs) => {
                roots.add_parsable_certificates(certs.filter_map(Result::ok));
            }
            Err(err) => tracing::warn!(?path, %err, "SSL_CERT_FILE not read"),
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the crypto provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Standard AWS configuration from the environment, over `http`.
pub async fn sdk_config(http: &reqwest::Client) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_secs(20))
        .build();
    let http = SdkHttpClient::new(http.clone());
    let credentials = CredentialsProviderChain::first_try(
        "Environment",
        EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else(
        "DefaultChain",
        DeferredDefaultChain {
            config: ProviderConfig::without_region().with_http_client(http.clone()),
            chain: OnceCell::new(),
        },
    );
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts)
        // One attempt per call: the role work repeats a transient failure itself, for as long
        // as the invocation has time and saying so (role::patience), where the SDK's standard
        // three attempts gave up within seconds of a throttled burst.
        .retry_config(RetryConfig::disabled())
        .credentials_provider(credentials)
        .load()
        .await
}

/// The SDK's default credentials chain, built the first time it is asked.
#[derive(Debug)]
struct DeferredDefaultChain {
    config: ProviderConfig,
    chain: OnceCell<DefaultCredentialsChain>,
}

impl ProvideCredentials for DeferredDefaultChain {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let chain = self
                .chain
                .get_or_init(|| async {
                    let region = aws_config::default_provider::region::default_provider();
                    DefaultCredentialsChain::builder()
                        .configure(self.config.clone())
                        .region(region)
                        .build()
                        .await
                })
                .await;
            chain.provide_credentials().await
        })
    }
}

/// The AWS SDK's requests sent with reqwest. IAM requests are small and held in memory.
/// Connect timeouts are reqwest's; the SDK enforces the per-attempt timeout itself.
#[derive(Clone, Debug)]
pub struct SdkHttpClient(reqwest::Client);

impl SdkHttpClient {
    pub fn new(client: reqwest::Client) -> Self {
        SdkHttpClient(client)
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for SdkHttpClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = request.into_parts();
            let Some(body) = body.bytes().map(|b| b.to_vec()) else {
                return Err(ConnectorError::user(
                    "streaming request bodies are not supported".into(),
                ));
            };
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(connector_error)?;
            let mut head = http::Response::builder().status(response.status());
            if let Some(headers) = head.headers_mut() {
                *headers = response.headers().clone();
            }
            let body = response.bytes().await.map_err(connector_error)?;
            let response = head
                .body(SdkBody::from(body))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Timeouts and broken connections are transient (the SDK retries them); the rest is not.
fn connector_error(err: reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::timeout(err.into())
    } else if err.is_connect() || err.is_request() || err.is_body() {
        ConnectorError::io(err.into())
    } else {
        ConnectorError::other(err.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_client_builds_with_the_compiled_in_roots() {
        http_client().expect("reqwest takes the rustls configuration");
        let tls = tls_config();
        assert!(tls.alpn_protocols.is_empty(), "HTTP/1.1 only");
    }
}
