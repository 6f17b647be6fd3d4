//! CloudFormation's own view of a stack, read before a role is deleted: its status
//! (DescribeStacks) and its resources' physical ids (ListStackResources).
//!
//! The two calls go over CloudFormation's query API, signed with SigV4 by `aws-sigv4`, through
//! the function's one HTTP client. Two read calls do not justify `aws-sdk-cloudformation`: it
//! would compile as long as `aws-sdk-iam` again in every build, the release builds among them,
//! for code the linker then throws away.

use super::api_error::ApiError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_xml::decode::{Document, ScopedDecoder, XmlDecodeError, try_data};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// The CloudFormation API actions this module calls (the templates grant exactly these).
pub const ACTIONS: [&str; 2] = ["DescribeStacks", "ListStackResources"];

const CLOUDFORMATION: &str = "cloudformation";
const API_VERSION: &str = "2010-05-15";
/// As long as one IAM attempt may take (`clients::sdk_config`).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// A stack's resource as ListStackResources shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    /// Missing while a resource is being created, before it has one.
    pub physical_id: Option<String>,
    pub status: String,
}

/// What CloudFormation calls with: the function's HTTP client and credentials, and where
/// CloudFormation is when the environment says (`AWS_ENDPOINT_URL_CLOUDFORMATION`, or the
/// SDK's `AWS_ENDPOINT_URL`); otherwise each stack's own regional endpoint.
#[derive(Clone, Debug)]
pub struct CloudFormation {
    http: reqwest::Client,
    credentials: Option<SharedCredentialsProvider>,
    region: Option<String>,
    endpoint: Option<String>,
}

impl CloudFormation {
    pub fn new(
        http: reqwest::Client,
        credentials: Option<SharedCredentialsProvider>,
        region: Option<String>,
        endpoint: Option<String>,
    ) -> Self {
        CloudFormation {
            http,
            credentials,
            region,
            endpoint,
        }
    }

    /// As the SDK's configuration says, with CloudFormation's own endpoint variable first.
    pub fn from_sdk(http: reqwest::Client, sdk: &aws_config::SdkConfig) -> Self {
        let own = std::env::var("AWS_ENDPOINT_URL_CLOUDFORMATION")
            .ok()
            .filter(|url| !url.is_empty());
        CloudFormation::new(
            http,
            sdk.credentials_provider(),
            sdk.region().map(|r| r.to_string()),
            own.or_else(|| sdk.endpoint_url().map(String::from)),
        )
    }

    /// The stack's status, or `None` when CloudFormation says there is no such stack.
    pub async fn stack_status(&self, stack_id: &str) -> Result<Option<String>, ApiError> {
        let answered = self
            .call("DescribeStacks", stack_id, &[("StackName", stack_id)])
            .await;
        let body = match answered {
            Ok(body) => body,
            // CloudFormation's words for a stack it does not know (deleted stacks are known by
            // their id, as DELETE_COMPLETE).
            Err(err) if err.is("ValidationError") && err.message.contains("does not exist") => {
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        let stacks = members(&body, "Stacks", &["StackStatus"])
            .map_err(|e| unreadable("DescribeStacks", &e))?;
        Ok(stacks
            .into_iter()
            .next()
            .and_then(|mut stack| stack.remove("StackStatus")))
    }

    /// Every resource of the stack, all pages.
    pub async fn stack_resources(&self, stack_id: &str) -> Result<Vec<StackResource>, ApiError> {
        let mut resources = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = vec![("StackName", stack_id)];
            if let Some(token) = &token {
                params.push(("NextToken", token));
            }
            let body = self.call("ListStackResources", stack_id, &params).await?;
            let fields = ["LogicalResourceId", "PhysicalResourceId", "ResourceStatus"];
            let page = members(&body, "StackResourceSummaries", &fields)
                .map_err(|e| unreadable("ListStackResources", &e))?;
            resources.extend(page.into_iter().map(|mut r| StackResource {
                logical_id: r.remove("LogicalResourceId").unwrap_or_default(),
                physical_id: r.remove("PhysicalResourceId").filter(|p| !p.is_empty()),
                status: r.remove("ResourceStatus").unwrap_or_default(),
            }));
            token = first_text(&body, "NextToken")
                .map_err(|e| unreadable("ListStackResources", &e))?
                .filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(resources);
            }
        }
    }

    /// One signed query call about the stack `stack_id`, in its region: the answer's body, or
    /// CloudFormation's error.
    async fn call(
        &self,
        operation: &'static str,
        stack_id: &str,
        params: &[(&str, &str)],
    ) -> Result<String, ApiError> {
        let arn = StackArn::parse(stack_id);
        let region = arn
            .as_ref()
            .map(|a| a.region.to_string())
            .or_else(|| self.region.clone())
            .ok_or_else(|| {
                ApiError::local(
                    CLOUDFORMATION,
                    operation,
                    "no region: the stack id names none and AWS_REGION is not set".into(),
                )
            })?;
        let url = match &self.endpoint {
            Some(endpoint) => format!("{}/", endpoint.trim_end_matches('/')),
            None => format!(
                "https://cloudformation.{region}.{}/",
                dns_suffix(arn.as_ref().map_or("aws", |a| a.partition))
            ),
        };
        let body = query_body(operation, params);
        let request = self.signed(operation, &url, &region, body).await?;
        let failed =
            |e: reqwest::Error| ApiError::unanswered(CLOUDFORMATION, operation, e.to_string());
        let response = self.http.execute(request).await.map_err(failed)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(failed)?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let code = first_text(&text, "Code").ok().flatten();
        let message = first_text(&text, "Message")
            .ok()
            .flatten()
            .unwrap_or_else(|| format!("unexpected HTTP {status} answer from CloudFormation"));
        Err(ApiError::answered(
            CLOUDFORMATION,
            operation,
            status,
            code,
            message,
        ))
    }

    async fn signed(
        &self,
        operation: &'static str,
        url: &str,
        region: &str,
        body: String,
    ) -> Result<reqwest::Request, ApiError> {
        let local = |message: String| ApiError::local(CLOUDFORMATION, operation, message);
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| local("no credentials configured".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| local(format!("no credentials: {e}")))?;
        let identity = Identity::from(credentials);
        let mut request = http::Request::builder()
            .method("POST")
            .uri(url)
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body)
            .map_err(|e| local(format!("bad request: {e}")))?;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(CLOUDFORMATION)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| local(format!("cannot sign: {e}")))?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
        let signable = SignableRequest::new(
            "POST",
            url,
            headers,
            SignableBody::Bytes(request.body().as_bytes()),
        )
        .map_err(|e| local(format!("cannot sign: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| local(format!("cannot sign: {e}")))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let mut request =
            reqwest::Request::try_from(request).map_err(|e| local(format!("bad request: {e}")))?;
        *request.timeout_mut() = Some(ATTEMPT_TIMEOUT);
        Ok(request)
    }
}

/// The parts of a stack's ARN the call needs:
/// `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`.
#[derive(Debug, PartialEq, Eq)]
pub struct StackArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
}

impl<'a> StackArn<'a> {
    pub fn parse(stack_id: &'a str) -> Option<Self> {
        let mut parts = stack_id.splitn(6, ':');
        let (arn, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let well_formed = arn == "arn"
            && partition.starts_with("aws")
            && service == CLOUDFORMATION
            && !region.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource
                .strip_prefix("stack/")
                .is_some_and(|rest| rest.split('/').count() == 2 && !rest.starts_with('/'));
        well_formed.then_some(StackArn {
            partition,
            region,
            account,
        })
    }
}

/// The form a query API call sends. Built apart from the async call: the serializer is not
/// `Send`.
fn query_body(operation: &str, params: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", operation);
    form.append_pair("Version", API_VERSION);
    for (key, value) in params {
        form.append_pair(key, value);
    }
    form.finish()
}

/// The DNS suffix of a partition's regional endpoints.
fn dns_suffix(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-iso-e" => "cloud.adc-e.uk",
        "aws-iso-f" => "csp.hci.ic.gov",
        "aws-eusc" => "amazonaws.eu",
        _ => "amazonaws.com",
    }
}

fn unreadable(operation: &'static str, err: &XmlDecodeError) -> ApiError {
    ApiError::local(
        CLOUDFORMATION,
        operation,
        format!("CloudFormation's answer could not be read: {err}"),
    )
}

/// For each `member` of every element named `list`, the text of its children named in
/// `fields` (others, and their subtrees, are skipped).
fn members(
    xml: &str,
    list: &str,
    fields: &[&str],
) -> Result<Vec<HashMap<String, String>>, XmlDecodeError> {
    fn walk(
        scope: &mut ScopedDecoder<'_, '_>,
        list: &str,
        fields: &[&str],
        out: &mut Vec<HashMap<String, String>>,
    ) -> Result<(), XmlDecodeError> {
        while let Some(mut tag) = scope.next_tag() {
            if !tag.start_el().matches(list) {
                walk(&mut tag, list, fields, out)?;
                continue;
            }
            while let Some(mut member) = tag.next_tag() {
                if !member.start_el().matches("member") {
                    continue;
                }
                let mut found = HashMap::new();
                while let Some(mut field) = member.next_tag() {
                    let name = field.start_el().local().to_string();
                    if fields.contains(&name.as_str()) {
                        found.insert(name, try_data(&mut field)?.into_owned());
                    }
                }
                out.push(found);
            }
        }
        Ok(())
    }
    let mut document = Document::new(xml);
    let mut root = document.root_element()?;
    let mut out = Vec::new();
    walk(&mut root, list, fields, &mut out)?;
    Ok(out)
}

/// The text of the first element named `name`, wherever it is.
fn first_text(xml: &str, name: &str) -> Result<Option<String>, XmlDecodeError> {
    fn walk(
        scope: &mut ScopedDecoder<'_, '_>,
        name: &str,
    ) -> Result<Option<String>, XmlDecodeError> {
        while let Some(mut tag) = scope.next_tag() {
            if tag.start_el().matches(name) {
                return Ok(Some(try_data(&mut tag)?.into_owned()));
            }
            if let Some(found) = walk(&mut tag, name)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
    let mut document = Document::new(xml);
    let mut root = document.root_element()?;
    walk(&mut root, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/app/0a1b2c3d-4e5f";

    #[test]
    fn a_stack_arn_gives_its_partition_region_and_account() {
        assert_eq!(
            StackArn::parse(STACK),
            Some(StackArn {
                partition: "aws",
                region: "eu-west-1",
                account: "123456789012"
            })
        );
        for not_a_stack in [
            "app",
            "",
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/app",
            "arn:aws:cloudformation:eu-west-1:1234:stack/app/id",
            "arn:aws:s3:eu-west-1:123456789012:stack/app/id",
            "arn:aws:cloudformation::123456789012:stack/app/id",
            "arn:aws:cloudformation:eu-west-1:123456789012:stackset/app/id",
        ] {
            assert_eq!(StackArn::parse(not_a_stack), None, "{not_a_stack}");
        }
        assert_eq!(dns_suffix("aws-cn"), "amazonaws.com.cn");
        assert_eq!(dns_suffix("aws-us-gov"), "amazonaws.com");
    }

    #[test]
    fn summaries_are_read_past_fields_with_children() {
        let xml = "<ListStackResourcesResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
            <ListStackResourcesResult><StackResourceSummaries>\
            <member><LogicalResourceId>Old</LogicalResourceId><PhysicalResourceId>AWSServiceRoleForECS</PhysicalResourceId>\
            <DriftInformation><StackResourceDriftStatus>NOT_CHECKED</StackResourceDriftStatus></DriftInformation>\
            <ResourceType>Custom::ServiceLinkedRole</ResourceType><ResourceStatus>DELETE_IN_PROGRESS</ResourceStatus></member>\
            <member><LogicalResourceId>New</LogicalResourceId><ResourceStatus>CREATE_IN_PROGRESS</ResourceStatus></member>\
            </StackResourceSummaries><NextToken>t&amp;2</NextToken></ListStackResourcesResult>\
            <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListStackResourcesResponse>";
        let fields = ["LogicalResourceId", "PhysicalResourceId", "ResourceStatus"];
        let found = members(xml, "StackResourceSummaries", &fields).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0]["PhysicalResourceId"], "AWSServiceRoleForECS");
        assert_eq!(found[0]["ResourceStatus"], "DELETE_IN_PROGRESS");
        assert!(!found[1].contains_key("PhysicalResourceId"));
        assert_eq!(
            first_text(xml, "NextToken").unwrap().as_deref(),
            Some("t&2")
        );
        assert_eq!(first_text(xml, "Missing").unwrap(), None);
    }
}
