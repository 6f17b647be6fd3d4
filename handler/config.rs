//! Settings read once from the environment at init.
//!
//! A bad setting must not stop the function from starting: an init failure leaves every
//! CloudFormation stack that uses it waiting an hour for an answer. Instead it is kept as a
//! `problem` and every event is answered FAILED with it.

use crate::adapters::sender::ResponseUrlPrefix;
use std::time::Duration;

/// The propagation wait when none is asked for, and the longest one that may be: for a custom
/// resource's `PropagationWaitSeconds` and the hook's setting alike.
pub const DEFAULT_WAIT_SECONDS: u64 = 60;
pub const MAX_WAIT_SECONDS: u64 = 900;

/// How the answer reaches CloudFormation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// PUT the answer to the event's ResponseURL.
    Direct,
    /// Behind CDK's `custom_resources.Provider`: return the result, the framework answers.
    Provider,
}

/// `UPSERT_SLR_RESPONSE_MODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeSetting {
    Auto,
    Fixed(ResponseMode),
}

/// `UPSERT_SLR_WAIT`: where waits (IAM propagation, role deletion) happen in provider mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitSetting {
    /// The function sleeps or polls until the wait is over.
    InFunction,
    /// The Provider has an isComplete handler (this same function): onEvent returns at once and
    /// each isComplete invocation checks whether the wait is over.
    IsComplete,
}

/// `UPSERT_SLR_HOOK_MODE`: what the function does as a CloudFormation Lambda Hook when a
/// targeted resource needs a role that does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookMode {
    /// Create (or adopt) the role, and let the resource proceed once it has propagated.
    Create,
    /// Create nothing: answer FAILED/NonCompliant naming the missing role. With the hook's
    /// FailureMode WARN this reports without blocking.
    Check,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub mode: ModeSetting,
    pub wait: WaitSetting,
    /// Where answers may go besides AWS's S3 endpoints (local runs).
    pub extra_response_url_prefixes: Vec<ResponseUrlPrefix>,
    /// Service principals this function may create roles for; `None` allows any.
    pub allowed_services: Option<Vec<String>>,
    /// The function's own timeout, which Lambda does not tell it: the macro gives the roles it
    /// adds a ServiceTimeout above it.
    pub function_timeout_seconds: Option<u64>,
    /// As a Lambda Hook: create the roles targets need, or only report them missing.
    pub hook_mode: HookMode,
    /// As a Lambda Hook: how old a role must be before the target may use it.
    pub hook_wait: Duration,
    /// Set when a variable above had a value that could not be used.
    pub problem: Option<String>,
}

pub const MODE_VAR: &str = "UPSERT_SLR_RESPONSE_MODE";
pub const WAIT_VAR: &str = "UPSERT_SLR_WAIT";
pub const EXTRA_PREFIXES_VAR: &str = "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES";
pub const ALLOWED_SERVICES_VAR: &str = "UPSERT_SLR_ALLOWED_SERVICES";
pub const FUNCTION_TIMEOUT_VAR: &str = "UPSERT_SLR_FUNCTION_TIMEOUT";
pub const HOOK_MODE_VAR: &str = "UPSERT_SLR_HOOK_MODE";
pub const HOOK_WAIT_VAR: &str = "UPSERT_SLR_HOOK_WAIT_SECONDS";

impl Settings {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut problems = Vec::new();
        let mode = match var(MODE_VAR).as_deref().map(str::trim) {
            None | Some("") => ModeSetting::Auto,
            Some(v) if v.eq_ignore_ascii_case("auto") => ModeSetting::Auto,
            Some(v) if v.eq_ignore_ascii_case("direct") => ModeSetting::Fixed(ResponseMode::Direct),
            Some(v) if v.eq_ignore_ascii_case("provider") => {
                ModeSetting::Fixed(ResponseMode::Provider)
            }
            Some(v) => {
                problems.push(format!(
                    "{MODE_VAR}={v:?} is not one of direct, provider, auto"
                ));
                ModeSetting::Auto
            }
        };
        let wait = match var(WAIT_VAR).as_deref().map(str::trim) {
            None | Some("") => WaitSetting::InFunction,
            Some(v) if v.eq_ignore_ascii_case("in-function") => WaitSetting::InFunction,
            Some(v) if v.eq_ignore_ascii_case("is-complete") => WaitSetting::IsComplete,
            Some(v) => {
                problems.push(format!(
                    "{WAIT_VAR}={v:?} is not one of in-function, is-complete"
                ));
                WaitSetting::InFunction
            }
        };
        let allowed = list(var(ALLOWED_SERVICES_VAR));
        let function_timeout_seconds = match var(FUNCTION_TIMEOUT_VAR).as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => match v.parse::<u64>() {
                Ok(seconds @ 1..=900) => Some(seconds),
                _ => {
                    problems.push(format!(
                        "{FUNCTION_TIMEOUT_VAR}={v:?} is not a Lambda timeout (1 to 900 seconds)"
                    ));
                    None
                }
            },
        };
        let hook_mode = match var(HOOK_MODE_VAR).as_deref().map(str::trim) {
            None | Some("") => HookMode::Create,
            Some(v) if v.eq_ignore_ascii_case("create") => HookMode::Create,
            Some(v) if v.eq_ignore_ascii_case("check") => HookMode::Check,
            Some(v) => {
                problems.push(format!("{HOOK_MODE_VAR}={v:?} is not one of create, check"));
                HookMode::Create
            }
        };
        // The same default and bounds as a custom resource's PropagationWaitSeconds.
        let hook_wait = match var(HOOK_WAIT_VAR).as_deref().map(str::trim) {
            None | Some("") => Duration::from_secs(DEFAULT_WAIT_SECONDS),
            Some(v) => match v.parse::<u64>() {
                Ok(seconds @ 0..=MAX_WAIT_SECONDS) => Duration::from_secs(seconds),
                _ => {
                    problems.push(format!(
                        "{HOOK_WAIT_VAR}={v:?} is not a number of seconds from 0 to {MAX_WAIT_SECONDS}"
                    ));
                    Duration::from_secs(DEFAULT_WAIT_SECONDS)
                }
            },
        };
        let extra_response_url_prefixes = list(var(EXTRA_PREFIXES_VAR))
            .iter()
            .filter_map(|prefix| {
                ResponseUrlPrefix::parse(prefix)
                    .map_err(|why| problems.push(format!("{EXTRA_PREFIXES_VAR}: {why}")))
                    .ok()
            })
            .collect();
        Settings {
            mode,
            wait,
            extra_response_url_prefixes,
            allowed_services: (!allowed.is_empty()).then_some(allowed),
            function_timeout_seconds,
            hook_mode,
            hook_wait,
            problem: (!problems.is_empty()).then(|| problems.join("; ")),
        }
    }

    /// Whether the allow-list admits `service` (case-insensitive, `*` matches any run of
    /// characters).
    pub fn allows_service(&self, service: &str) -> bool {
        match &self.allowed_services {
            None => true,
            Some(patterns) => patterns
                .iter()
                .any(|p| wildcard_match(&p.to_ascii_lowercase(), &service.to_ascii_lowercase())),
        }
    }
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Resolves the mode for one event. `auto` means provider when the event's ServiceToken is
/// the ARN of another Lambda function (the Provider framework's), direct otherwise.
pub fn resolve_mode(
    setting: ModeSetting,
    service_token: Option<&str>,
    invoked_function_arn: &str,
    function_name: &str,
) -> ResponseMode {
    if let ModeSetting::Fixed(mode) = setting {
        return mode;
    }
    let Some(token) = service_token.and_then(LambdaArn::parse) else {
        return ResponseMode::Direct;
    };
    let same_function = match LambdaArn::parse(invoked_function_arn) {
        Some(own) => own == token,
        // Some emulators give no ARN: the function name is all there is to compare.
        None => !function_name.is_empty() && token.name == function_name,
    };
    if same_function {
        ResponseMode::Direct
    } else {
        ResponseMode::Provider
    }
}

/// A Lambda function ARN without its qualifier (version or alias).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LambdaArn<'a> {
    partition: &'a str,
    region: &'a str,
    account: &'a str,
    name: &'a str,
}

impl<'a> LambdaArn<'a> {
    pub(crate) fn parse(arn: &'a str) -> Option<Self> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                name,
                qualifier @ ..,
            ] if qualifier.len() <= 1 && !name.is_empty() => Some(LambdaArn {
                partition,
                region,
                account,
                name,
            }),
            _ => None,
        }
    }

    /// The ARN without its qualifier.
    pub(crate) fn unqualified(&self) -> String {
        let LambdaArn {
            partition,
            region,
            account,
            name,
        } = self;
        format!("arn:{partition}:lambda:{region}:{account}:function:{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| vars.get(k).cloned())
    }

    const OWN: &str = "arn:aws:lambda:us-east-1:123456789012:function:upsert-slr";

    #[test]
    fn mode_defaults_to_auto_and_accepts_any_case() {
        assert_eq!(settings(&[]).mode, ModeSetting::Auto);
        assert_eq!(
            settings(&[(MODE_VAR, "Provider")]).mode,
            ModeSetting::Fixed(ResponseMode::Provider)
        );
        assert_eq!(
            settings(&[(MODE_VAR, "direct")]).mode,
            ModeSetting::Fixed(ResponseMode::Direct)
        );
    }

    #[test]
    fn unusable_values_become_a_problem_not_a_crash() {
        let s = settings(&[(MODE_VAR, "sometimes"), (WAIT_VAR, "later")]);
        let problem = s.problem.expect("problem recorded");
        assert!(problem.contains("UPSERT_SLR_RESPONSE_MODE=\"sometimes\""));
        assert!(problem.contains("UPSERT_SLR_WAIT=\"later\""));
        assert_eq!(s.mode, ModeSetting::Auto);
        let s = settings(&[(
            EXTRA_PREFIXES_VAR,
            "http://127.0.0.1:4566/, http://127.0.0.1:4566/bucket",
        )]);
        let problem = s.problem.expect("problem recorded");
        assert!(
            problem.contains("\"http://127.0.0.1:4566/bucket\" is not a ResponseURL prefix"),
            "{problem}"
        );
        assert_eq!(s.extra_response_url_prefixes.len(), 1);
    }

    #[test]
    fn auto_mode_is_direct_for_own_arn_with_or_without_qualifier() {
        let auto = ModeSetting::Auto;
        assert_eq!(
            resolve_mode(auto, Some(OWN), OWN, "upsert-slr"),
            ResponseMode::Direct
        );
        let qualified = format!("{OWN}:live");
        assert_eq!(
            resolve_mode(auto, Some(OWN), &qualified, "upsert-slr"),
            ResponseMode::Direct
        );
        assert_eq!(
            resolve_mode(auto, Some(&qualified), OWN, "upsert-slr"),
            ResponseMode::Direct
        );
    }

    #[test]
    fn auto_mode_is_provider_for_another_function() {
        let framework =
            "arn:aws:lambda:us-east-1:123456789012:function:Stack-ProviderframeworkonEvent-AbC";
        assert_eq!(
            resolve_mode(ModeSetting::Auto, Some(framework), OWN, "upsert-slr"),
            ResponseMode::Provider
        );
        let other_account = OWN.replace("123456789012", "210987654321");
        assert_eq!(
            resolve_mode(ModeSetting::Auto, Some(&other_account), OWN, "upsert-slr"),
            ResponseMode::Provider
        );
    }

    #[test]
    fn auto_mode_is_direct_without_a_lambda_service_token() {
        let auto = ModeSetting::Auto;
        assert_eq!(resolve_mode(auto, None, OWN, "x"), ResponseMode::Direct);
        let topic = "arn:aws:sns:us-east-1:123456789012:cfn-topic";
        assert_eq!(
            resolve_mode(auto, Some(topic), OWN, "x"),
            ResponseMode::Direct
        );
        assert_eq!(
            resolve_mode(auto, Some("garbage"), OWN, "x"),
            ResponseMode::Direct
        );
    }

    #[test]
    fn auto_mode_falls_back_to_the_function_name_without_an_invoked_arn() {
        let auto = ModeSetting::Auto;
        assert_eq!(
            resolve_mode(auto, Some(OWN), "", "upsert-slr"),
            ResponseMode::Direct
        );
        assert_eq!(
            resolve_mode(auto, Some(OWN), "", "other"),
            ResponseMode::Provider
        );
    }

    #[test]
    fn fixed_mode_wins_over_the_event() {
        let fixed = ModeSetting::Fixed(ResponseMode::Provider);
        assert_eq!(
            resolve_mode(fixed, Some(OWN), OWN, "x"),
            ResponseMode::Provider
        );
        let fixed = ModeSetting::Fixed(ResponseMode::Direct);
        let other = OWN.replace("upsert-slr", "other");
        assert_eq!(
            resolve_mode(fixed, Some(&other), OWN, "x"),
            ResponseMode::Direct
        );
    }

    #[test]
    fn allow_list_matches_wildcards_case_insensitively() {
        let s = settings(&[(
            ALLOWED_SERVICES_VAR,
            " ecs.amazonaws.com , *.elasticloadbalancing.amazonaws.com,autoscaling*",
        )]);
        assert!(s.allows_service("ecs.amazonaws.com"));
        assert!(s.allows_service("ECS.amazonaws.com"));
        assert!(s.allows_service("autoscaling.amazonaws.com"));
        assert!(s.allows_service("x.elasticloadbalancing.amazonaws.com"));
        assert!(!s.allows_service("elasticloadbalancing.amazonaws.com"));
        assert!(!s.allows_service("ecs.amazonaws.com.evil"));
        assert!(!s.allows_service("eks.amazonaws.com"));
    }

    #[test]
    fn empty_allow_list_allows_everything() {
        assert!(settings(&[(ALLOWED_SERVICES_VAR, " , ")]).allows_service("anything"));
        assert!(settings(&[(ALLOWED_SERVICES_VAR, "*")]).allows_service("anything"));
    }

    #[test]
    fn wildcard_edge_cases() {
        assert!(wildcard_match("a*b*c", "abc"));
        assert!(wildcard_match("a*b*c", "a-b-b-c"));
        assert!(!wildcard_match("a*bc", "abc-bd"));
        assert!(!wildcard_match("ab*ba", "aba"));
        assert!(wildcard_match("**", ""));
    }

    #[test]
    fn the_hook_settings_default_to_create_after_60_s_and_refuse_other_values() {
        let default = settings(&[]);
        assert_eq!(default.hook_mode, HookMode::Create);
        assert_eq!(default.hook_wait, Duration::from_secs(60));
        let set = settings(&[(HOOK_MODE_VAR, " Check "), (HOOK_WAIT_VAR, "0")]);
        assert_eq!(
            (set.hook_mode, set.hook_wait),
            (HookMode::Check, Duration::ZERO)
        );
        assert!(set.problem.is_none(), "{:?}", set.problem);
        let bad = settings(&[(HOOK_MODE_VAR, "enforce"), (HOOK_WAIT_VAR, "901")]);
        let problem = bad.problem.unwrap();
        assert!(
            problem.contains("UPSERT_SLR_HOOK_MODE=\"enforce\" is not one of create, check"),
            "{problem}"
        );
        assert!(
            problem.contains("UPSERT_SLR_HOOK_WAIT_SECONDS=\"901\""),
            "{problem}"
        );
    }
}
