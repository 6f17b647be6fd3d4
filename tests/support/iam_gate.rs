//! IAM's authorization in front of LocalStack, whose community edition enforces no policy: every
//! IAM and CloudFormation call the function makes is let through only when the policy the
//! project ships (`tests/fixtures/function-policy.json`, generated from template.yaml and kept
//! current by `make templates`) allows it, judged as IAM judges it: the action, the resource's
//! ARN (a role that does not exist by an ARN without path), and the conditions the policy uses
//! (the service name asked for, the tags sent, the tags the role already carries). A call the
//! policy does not allow gets IAM's own AccessDenied; any other goes on to LocalStack as it came.
//! So a narrowed statement fails a test here instead of a deploy.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

const FIXTURE: &str = "tests/fixtures/function-policy.json";

/// The statements of a policy, as IAM reads them.
#[derive(Clone, Debug)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Clone, Debug)]
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
    /// (operator, key, values)
    conditions: Vec<(String, String, Vec<String>)>,
}

/// What IAM evaluates for one call: the action, the resource, and the condition keys' values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub resource: String,
    pub context: HashMap<String, Vec<String>>,
}

impl Policy {
    /// The function role's policy as template.yaml grants it for `variant`: `any-service`
    /// (AllowedServices "*") or `ecs-only` (AllowedServices "ecs.amazonaws.com").
    pub fn shipped(variant: &str) -> Policy {
        let path = format!("{}/{FIXTURE}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let fixture: Value = serde_json::from_str(&text).unwrap();
        let policy = &fixture["policies"][variant];
        assert!(
            policy.is_object(),
            "{FIXTURE} has no policy {variant:?}; regenerate it with {}",
            fixture["regenerate"]
        );
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let statements = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                assert_eq!(
                    s["Effect"], "Allow",
                    "the gate reads Allow statements only: {s}"
                );
                let mut conditions = Vec::new();
                for (operator, keys) in s["Condition"].as_object().unwrap() {
                    for (key, values) in keys.as_object().unwrap() {
                        conditions.push((operator.clone(), key.clone(), strings(values)));
                    }
                }
                Statement {
                    sid: s["Sid"].as_str().unwrap_or_default().to_string(),
                    actions: strings(&s["Action"]),
                    resources: strings(&s["Resource"]),
                    conditions,
                }
            })
            .collect();
        Policy { statements }
    }

    /// The policy for the function's `UPSERT_SLR_ALLOWED_SERVICES`, as a deployment with that
    /// `AllowedServices` would have it.
    pub fn for_allowed_services(allowed: Option<&str>) -> Policy {
        match allowed {
            None | Some("*") => Policy::shipped("any-service"),
            Some("ecs.amazonaws.com") => Policy::shipped("ecs-only"),
            Some(other) => panic!(
                "no shipped policy for AllowedServices={other:?} in {FIXTURE}: add the variant to \
                 its generator (tests/checks/policies.py)"
            ),
        }
    }

    /// The same policy without the statement `sid`: what a narrowed template would grant.
    pub fn without(mut self, sid: &str) -> Policy {
        let before = self.statements.len();
        self.statements.retain(|s| s.sid != sid);
        assert_eq!(self.statements.len() + 1, before, "no statement {sid}");
        self
    }

    /// The same policy with the statement `sid` limited to `resources`: a narrowed grant.
    pub fn narrowed(mut self, sid: &str, resources: &[&str]) -> Policy {
        let statement = self
            .statements
            .iter_mut()
            .find(|s| s.sid == sid)
            .unwrap_or_else(|| panic!("no statement {sid}"));
        statement.resources = resources.iter().map(|r| r.to_string()).collect();
        self
    }

    /// Whether some statement allows `call` for the principal of `account`.
    pub fn allows(&self, call: &Call, account: &str) -> bool {
        self.statements.iter().any(|s| {
            s.actions
                .iter()
                .any(|a| glob(&a.to_ascii_lowercase(), &call.action.to_ascii_lowercase()))
                && s.resources
                    .iter()
                    .any(|r| arn_matches(&r.replace("{account}", account), &call.resource))
                && s.conditions.iter().all(|(operator, key, values)| {
                    let values: Vec<String> = values
                        .iter()
                        .map(|v| v.replace("{account}", account))
                        .collect();
                    condition_holds(operator, call.context.get(key), &values)
                })
        })
    }
}

/// IAM's condition operators, those the shipped policy uses. Another one fails loudly: the gate
/// must learn it before it can judge it.
fn condition_holds(operator: &str, given: Option<&Vec<String>>, values: &[String]) -> bool {
    let given = given.map(Vec::as_slice).unwrap_or_default();
    match operator {
        "StringEquals" => given.iter().any(|g| values.contains(g)),
        "StringLike" => given.iter().any(|g| values.iter().any(|v| glob(v, g))),
        // True when the request has no such key: IAM's rule for ForAllValues.
        "ForAllValues:StringEquals" => given.iter().all(|g| values.contains(g)),
        "ForAnyValue:StringEquals" => given.iter().any(|g| values.contains(g)),
        "Null" => match values {
            [v] if v == "true" => given.is_empty(),
            [v] if v == "false" => !given.is_empty(),
            other => panic!("Null takes \"true\" or \"false\", not {other:?}"),
        },
        other => panic!("the IAM gate does not know the condition operator {other}: teach it"),
    }
}

/// IAM's wildcards: `*` any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// An ARN against a policy's resource: part by part (a wildcard does not reach across the
/// partition, service, region and account), the resource part with `/` and `:` inside it.
fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern_parts: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn_parts: Vec<&str> = arn.splitn(6, ':').collect();
    pattern_parts.len() == 6
        && arn_parts.len() == 6
        && pattern_parts
            .iter()
            .zip(&arn_parts)
            .all(|(p, a)| glob(p, a))
}

/// One decision the gate made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub action: String,
    pub resource: String,
    pub allowed: bool,
}

struct Shared {
    policy: Mutex<Policy>,
    localstack: String,
    /// Where CloudFormation's calls go: LocalStack, unless a test replays CloudFormation's
    /// answers for a stack in a state LocalStack cannot be put in on demand.
    cloudformation: Mutex<String>,
    decisions: Mutex<Vec<Decision>>,
    http: reqwest::Client,
}

/// The gate, listening on loopback in front of LocalStack.
pub struct Gate {
    pub url: String,
    shared: Arc<Shared>,
}

impl Gate {
    pub async fn start(localstack: &str, policy: Policy) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            policy: Mutex::new(policy),
            localstack: localstack.trim_end_matches('/').to_string(),
            cloudformation: Mutex::new(localstack.trim_end_matches('/').to_string()),
            decisions: Mutex::new(Vec::new()),
            http: upsert_slr::adapters::clients::http_client().unwrap(),
        });
        super::http_server::serve(listener, shared.clone(), serve);
        Gate { url, shared }
    }

    /// CloudFormation's calls go to `url` from now on (a server replaying its answers).
    pub fn replay_cloudformation(&self, url: &str) {
        *self.shared.cloudformation.lock().unwrap() = url.trim_end_matches('/').to_string();
    }

    /// The policy judged from now on.
    pub fn set_policy(&self, policy: Policy) {
        *self.shared.policy.lock().unwrap() = policy;
    }

    pub fn decisions(&self) -> Vec<Decision> {
        self.shared.decisions.lock().unwrap().clone()
    }

    /// Takes the refused calls that `expected` accepts out of the record, returning them: what
    /// a test that narrowed the policy meant to be refused.
    pub fn take_denied(&self, expected: impl Fn(&str) -> bool) -> Vec<String> {
        let mut decisions = self.shared.decisions.lock().unwrap();
        let mut taken = Vec::new();
        decisions.retain(|d| {
            let text = format!("{} on {}", d.action, d.resource);
            let take = !d.allowed && expected(&text);
            if take {
                taken.push(text);
            }
            !take
        });
        taken
    }

    /// The calls the policy refused, as "action on resource".
    pub fn denied(&self) -> Vec<String> {
        self.decisions()
            .into_iter()
            .filter(|d| !d.allowed)
            .map(|d| format!("{} on {}", d.action, d.resource))
            .collect()
    }
}

async fn serve(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let scope = credential_scope(&parts.headers);
    let (account, region, service) = scope.clone().unwrap_or_default();
    let operation = form.get("Action").cloned().unwrap_or_default();
    let call = match service.as_str() {
        "iam" => iam_call(&shared, &account, &operation, &form).await,
        "cloudformation" => cloudformation_call(&account, &region, &operation, &form),
        // Nothing else is in the policy: judged on "*", so that any other call is denied.
        other => Call {
            action: format!("{other}:{operation}"),
            resource: "*".into(),
            context: HashMap::new(),
        },
    };
    let allowed = scope.is_some() && shared.policy.lock().unwrap().allows(&call, &account);
    shared.decisions.lock().unwrap().push(Decision {
        action: call.action.clone(),
        resource: call.resource.clone(),
        allowed,
    });
    if !allowed {
        return Ok(access_denied(&service, &account, &call));
    }
    let upstream = match service.as_str() {
        "cloudformation" => shared.cloudformation.lock().unwrap().clone(),
        _ => shared.localstack.clone(),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = shared
        .http
        .request(parts.method.clone(), format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = match forwarded.body(body.to_vec()).send().await {
        Ok(answer) => answer,
        Err(err) => {
            return Ok(Response::builder()
                .status(502)
                .body(Full::new(Bytes::from(format!(
                    "the gate could not reach {upstream}: {err}"
                ))))
                .unwrap());
        }
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    Ok(response.body(Full::new(bytes)).unwrap())
}

/// (account, region, service) from SigV4's `Credential=<key>/<date>/<region>/<service>/...`.
/// LocalStack takes a 12-digit access key as the account.
fn credential_scope(headers: &hyper::HeaderMap) -> Option<(String, String, String)> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?.split(',').next()?;
    let mut parts = credential.split('/');
    let key = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    Some((key, region, service))
}

/// What IAM judges for an IAM call: the role's ARN (with its path when the role exists, the
/// bare name when it does not), its tags, and what the request asks.
async fn iam_call(
    shared: &Shared,
    account: &str,
    operation: &str,
    form: &HashMap<String, String>,
) -> Call {
    let action = format!("iam:{operation}");
    let mut context: HashMap<String, Vec<String>> = HashMap::new();
    let resource = match operation {
        "CreateServiceLinkedRole" => {
            let service = form.get("AWSServiceName").cloned().unwrap_or_default();
            context.insert("iam:AWSServiceName".into(), vec![service.clone()]);
            format!("arn:aws:iam::{account}:role/aws-service-role/{service}/new-role")
        }
        "ListRoles" => "*".into(),
        "GetServiceLinkedRoleDeletionStatus" => {
            // task/aws-service-role/<service>/<role>/<id>: the role it deletes.
            let task = form.get("DeletionTaskId").cloned().unwrap_or_default();
            let parts: Vec<&str> = task.split('/').collect();
            match parts.as_slice() {
                ["task", "aws-service-role", service, role, _id] => {
                    format!("arn:aws:iam::{account}:role/aws-service-role/{service}/{role}")
                }
                _ => panic!("the IAM gate cannot read the deletion task {task:?}"),
            }
        }
        _ => match form.get("RoleName") {
            None => "*".into(),
            Some(name) => match existing_role(shared, account, name).await {
                Some((arn, tags)) => {
                    for (key, value) in tags {
                        context.insert(format!("aws:ResourceTag/{key}"), vec![value]);
                    }
                    arn
                }
                None => format!("arn:aws:iam::{account}:role/{name}"),
            },
        },
    };
    if operation == "TagRole" {
        let mut keys = Vec::new();
        for n in 1.. {
            let Some(key) = form.get(&format!("Tags.member.{n}.Key")) else {
                break;
            };
            let value = form
                .get(&format!("Tags.member.{n}.Value"))
                .cloned()
                .unwrap_or_default();
            context.insert(format!("aws:RequestTag/{key}"), vec![value]);
            keys.push(key.clone());
        }
        context.insert("aws:TagKeys".into(), keys);
    }
    Call {
        action,
        resource,
        context,
    }
}

/// A stack's ARN, named by id or by name.
fn cloudformation_call(
    account: &str,
    region: &str,
    operation: &str,
    form: &HashMap<String, String>,
) -> Call {
    let stack = form.get("StackName").cloned().unwrap_or_default();
    let resource = if stack.starts_with("arn:") {
        stack
    } else if stack.is_empty() {
        "*".into()
    } else {
        format!("arn:aws:cloudformation:{region}:{account}:stack/{stack}/*")
    };
    Call {
        action: format!("cloudformation:{operation}"),
        resource,
        context: HashMap::new(),
    }
}

/// The role as LocalStack holds it: its ARN and tags, or `None`.
async fn existing_role(
    shared: &Shared,
    account: &str,
    name: &str,
) -> Option<(String, Vec<(String, String)>)> {
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .http_client(upsert_slr::adapters::clients::SdkHttpClient::new(
                shared.http.clone(),
            ))
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                account, "test", None, None, "gate",
            ))
            .endpoint_url(&shared.localstack)
            .build(),
    );
    let role = iam.get_role().role_name(name).send().await.ok()?.role?;
    let tags = role
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    Some((role.arn().to_string(), tags))
}

/// IAM's (or CloudFormation's) AccessDenied, worded as they word it.
fn access_denied(service: &str, account: &str, call: &Call) -> Response<Full<Bytes>> {
    let on = match call.resource.split_once(":role/") {
        // IAM names a role by its name alone: `on resource: role AWSServiceRoleForECS`.
        Some((_, path_and_name)) => format!(
            "role {}",
            path_and_name.rsplit('/').next().unwrap_or_default()
        ),
        None => call.resource.clone(),
    };
    let message = format!(
        "User: arn:aws:sts::{account}:assumed-role/upsert-slr-FunctionRole/upsert-slr is not \
         authorized to perform: {} on resource: {on} because no identity-based policy allows \
         the {} action",
        call.action, call.action
    );
    let namespace = match service {
        "cloudformation" => "http://cloudformation.amazonaws.com/doc/2010-05-15/",
        _ => "https://iam.amazonaws.com/doc/2010-05-08/",
    };
    let body = format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>AccessDenied</Code>\
         <Message>{message}</Message></Error><RequestId>gate-0001</RequestId></ErrorResponse>"
    );
    Response::builder()
        .status(403)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
