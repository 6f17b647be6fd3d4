//! The condition language of `slr-needs.json`: a row's `when` clauses, read from the table and
//! decided against one resource's properties. The CDK library's aspect (`cdk/src/needs.ts`)
//! implements the same language; `tests/needs-cases.json` holds the cases both must agree on,
//! and `docs/macro.md` describes it.

use super::intrinsic::{intrinsic, is_no_value};
use super::text::{Text, canonical};
use serde_json::{Map, Value};

/// What a condition says about one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Fails,
    /// A value only the deployment knows (an intrinsic function) decides it.
    Undecided,
}

impl Verdict {
    fn from_bool(holds: bool) -> Self {
        if holds { Self::Holds } else { Self::Fails }
    }

    fn negated(self) -> Self {
        match self {
            Self::Holds => Self::Fails,
            Self::Fails => Self::Holds,
            Self::Undecided => Self::Undecided,
        }
    }

    /// AND: one failing clause decides, even beside an undecided one.
    pub(crate) fn all(verdicts: impl IntoIterator<Item = Verdict>) -> Self {
        Self::decided_by(Self::Fails, verdicts)
    }

    /// OR: one holding clause decides, even beside an undecided one.
    fn any(verdicts: impl IntoIterator<Item = Verdict>) -> Self {
        Self::decided_by(Self::Holds, verdicts)
    }

    /// `decisive` if one verdict is; otherwise undecided if one is; otherwise its negation.
    fn decided_by(decisive: Verdict, verdicts: impl IntoIterator<Item = Verdict>) -> Self {
        let mut seen = decisive.negated();
        for verdict in verdicts {
            if verdict == decisive {
                return decisive;
            }
            if verdict == Self::Undecided {
                seen = Self::Undecided;
            }
        }
        seen
    }
}

/// One clause of a row's `when`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause {
    /// A test of the value at a path: property names from the resource's Properties (or, under
    /// `some` and `none`, from a list item), one per step. Only those two enter lists.
    At {
        path: Vec<String>,
        test: Test,
    },
    Any(Vec<Clause>),
    All(Vec<Clause>),
}

/// What a clause asks of the value at its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Test {
    /// `is: present` (true) or `is: absent` (false).
    Is(bool),
    OneOf(Vec<String>),
    /// Absent, or not one of the values.
    NotOneOf(Vec<String>),
    Prefix(String),
    /// Some text under the path contains this, ASCII case-insensitively (IAM's names are).
    Contains(String),
    /// Some item of the list meets every clause.
    Some(Vec<Clause>),
    /// No item of the list meets every clause.
    None(Vec<Clause>),
}

const TESTS: [&str; 9] = [
    "is", "oneOf", "notOneOf", "prefix", "contains", "some", "none", "any", "all",
];

impl Clause {
    /// Reads a clause of the table, or says what is wrong with it.
    pub fn parse(value: &Value) -> Result<Clause, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("a clause is {value}, not an object"))?;
        if let Some(unknown) = object
            .keys()
            .find(|k| *k != "path" && !TESTS.contains(&k.as_str()))
        {
            return Err(format!("a clause has the unknown key {unknown:?}"));
        }
        let tests: Vec<&str> = TESTS
            .into_iter()
            .filter(|t| object.contains_key(*t))
            .collect();
        let [test] = tests[..] else {
            return Err(format!(
                "a clause needs exactly one of {}, has {value}",
                TESTS.join(", ")
            ));
        };
        let argument = &object[test];
        let path = match (object.get("path"), test) {
            (Some(_), "any" | "all") => return Err(format!("`{test}` takes no path: {value}")),
            (None, "any") => return Ok(Clause::Any(clauses(test, argument)?)),
            (None, "all") => return Ok(Clause::All(clauses(test, argument)?)),
            (Some(Value::String(path)), _) => {
                let steps: Vec<String> = path.split('.').map(str::to_string).collect();
                if steps.iter().any(String::is_empty) {
                    return Err(format!("the path {path:?} has an empty step"));
                }
                steps
            }
            _ => return Err(format!("`{test}` needs a path, a string: {value}")),
        };
        let test = match test {
            "is" => match argument.as_str() {
                Some("present") => Test::Is(true),
                Some("absent") => Test::Is(false),
                _ => return Err(format!("`is` is present or absent, not {argument}")),
            },
            "oneOf" => Test::OneOf(strings(test, argument)?),
            "notOneOf" => Test::NotOneOf(strings(test, argument)?),
            "prefix" => Test::Prefix(string(test, argument)?),
            "contains" => Test::Contains(string(test, argument)?),
            "some" => Test::Some(clauses(test, argument)?),
            _ => Test::None(clauses(test, argument)?),
        };
        Ok(Clause::At { path, test })
    }

    /// What this clause says of a resource whose Properties are `root` (None: none), where a
    /// `Ref` to a template parameter reads its value from `parameters`.
    pub fn verdict(
        &self,
        root: Option<&Map<String, Value>>,
        parameters: &Map<String, Value>,
    ) -> Verdict {
        let (path, test) = match self {
            Clause::Any(clauses) => {
                return Verdict::any(clauses.iter().map(|c| c.verdict(root, parameters)));
            }
            Clause::All(clauses) => {
                return Verdict::all(clauses.iter().map(|c| c.verdict(root, parameters)));
            }
            Clause::At { path, test } => (path, test),
        };
        // `contains` reads an `Fn::Sub` or `Fn::Join` at the end of the path itself.
        let read = match test {
            Test::Contains(_) => Read::Raw,
            _ => Read::Deref,
        };
        match resolve(root, path, parameters, read) {
            Seen::Unknown => Verdict::Undecided,
            Seen::Absent => test.verdict(None, parameters),
            Seen::Known(value) => test.verdict(Some(value), parameters),
        }
    }
}

impl Test {
    /// What this test says of the value at its path (None: absent).
    fn verdict(&self, value: Option<&Value>, parameters: &Map<String, Value>) -> Verdict {
        let text = || value.and_then(canonical);
        match self {
            // An empty string asks the service for its default, as an omitted value does.
            Test::Is(present) => {
                Verdict::from_bool(value.is_some_and(|v| v.as_str() != Some("")) == *present)
            }
            Test::OneOf(values) => Verdict::from_bool(text().is_some_and(|s| values.contains(&s))),
            Test::NotOneOf(values) => {
                Verdict::from_bool(!text().is_some_and(|s| values.contains(&s)))
            }
            Test::Prefix(prefix) => {
                Verdict::from_bool(text().is_some_and(|s| s.starts_with(prefix.as_str())))
            }
            Test::Contains(needle) => {
                let Some(value) = value else {
                    return Verdict::Fails;
                };
                let text = Text::of(value, parameters);
                let needle = needle.to_ascii_lowercase();
                if text
                    .fragments
                    .iter()
                    .any(|f| f.to_ascii_lowercase().contains(&needle))
                {
                    Verdict::Holds
                } else if text.gapped {
                    Verdict::Undecided
                } else {
                    Verdict::Fails
                }
            }
            Test::Some(clauses) => some(value, clauses, parameters),
            Test::None(clauses) => some(value, clauses, parameters).negated(),
        }
    }
}

fn string(test: &str, argument: &Value) -> Result<String, String> {
    match argument.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(format!("`{test}` takes a non-empty string, not {argument}")),
    }
}

fn strings(test: &str, argument: &Value) -> Result<Vec<String>, String> {
    let items = argument.as_array().filter(|a| !a.is_empty());
    items
        .and_then(|items| {
            items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .ok_or_else(|| format!("`{test}` takes a non-empty list of strings, not {argument}"))
}

fn clauses(test: &str, argument: &Value) -> Result<Vec<Clause>, String> {
    match argument.as_array() {
        Some(items) if !items.is_empty() => items.iter().map(Clause::parse).collect(),
        _ => Err(format!(
            "`{test}` takes a non-empty list of clauses, not {argument}"
        )),
    }
}

/// Whether some item of the list `value` meets every clause.
fn some(value: Option<&Value>, clauses: &[Clause], parameters: &Map<String, Value>) -> Verdict {
    let Some(Value::Array(items)) = value else {
        return Verdict::Fails;
    };
    Verdict::any(items.iter().filter(|item| !is_no_value(item)).map(|item| {
        let root = match deref(item, parameters) {
            Seen::Unknown => return Verdict::Undecided,
            Seen::Absent => None,
            Seen::Known(value) => plain_object(value),
        };
        Verdict::all(clauses.iter().map(|c| c.verdict(root, parameters)))
    }))
}

/// A value as far as the template alone tells it.
enum Seen<'a> {
    Absent,
    Known(&'a Value),
    Unknown,
}

/// A value with a `Ref` to a known parameter read (once: a parameter's value is taken as it is).
fn deref<'a>(value: &'a Value, parameters: &'a Map<String, Value>) -> Seen<'a> {
    match intrinsic(value) {
        None if value.is_null() => Seen::Absent,
        None => Seen::Known(value),
        Some(_) if is_no_value(value) => Seen::Absent,
        Some(("Ref", Value::String(target))) => {
            parameters.get(target).map_or(Seen::Unknown, Seen::Known)
        }
        Some(_) => Seen::Unknown,
    }
}

enum Lookup<'a> {
    Found(&'a Value),
    Missing,
    /// No key is exactly the name and several are under ASCII case folding.
    Ambiguous,
}

/// The member `name` of `object`: exactly, or else the one key equal under ASCII case folding
/// (CDK's L1 properties are camelCase).
fn lookup<'a>(object: &'a Map<String, Value>, name: &str) -> Lookup<'a> {
    if let Some(value) = object.get(name) {
        return Lookup::Found(value);
    }
    let mut folded = object
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name));
    match (folded.next(), folded.next()) {
        (None, _) => Lookup::Missing,
        (Some((_, value)), None) => Lookup::Found(value),
        (Some(_), Some(_)) => Lookup::Ambiguous,
    }
}

/// Whether the value at the end of a path is read through `deref` or as it stands (`contains`
/// reads `Fn::Sub` and `Fn::Join` itself).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Deref,
    Raw,
}

/// The value at `path` from `root`, each step's value read through `deref`; a path through
/// anything but an object is absent.
fn resolve<'a>(
    root: Option<&'a Map<String, Value>>,
    path: &[String],
    parameters: &'a Map<String, Value>,
    read: Read,
) -> Seen<'a> {
    let Some(mut object) = root else {
        return Seen::Absent;
    };
    for (i, step) in path.iter().enumerate() {
        let value = match lookup(object, step) {
            Lookup::Found(value) => value,
            Lookup::Missing => return Seen::Absent,
            Lookup::Ambiguous => return Seen::Unknown,
        };
        if i + 1 == path.len() && read == Read::Raw {
            return Seen::Known(value);
        }
        let seen = deref(value, parameters);
        if i + 1 == path.len() {
            return seen;
        }
        object = match seen {
            Seen::Known(next) => match plain_object(next) {
                Some(next) => next,
                None => return Seen::Absent,
            },
            other => return other,
        };
    }
    Seen::Absent
}

/// An object that is not an intrinsic function.
fn plain_object(value: &Value) -> Option<&Map<String, Value>> {
    value.as_object().filter(|_| intrinsic(value).is_none())
}
