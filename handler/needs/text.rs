//! Values as a condition compares them: a scalar's canonical string, and the text a
//! `contains` searches, with `Fn::Sub` and `Fn::Join` read as far as the template tells them.

use super::intrinsic::{intrinsic, is_no_value};
use serde_json::{Map, Value};

/// The largest integer both readers represent exactly (JavaScript's Number.MAX_SAFE_INTEGER).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A scalar as the string a `oneOf`, `notOneOf` or `prefix` compares: CloudFormation takes
/// `true` and `"true"`, `2` and `"2"` alike. None for lists, objects and fractions.
pub(super) fn canonical(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER).then(|| {
                match (n.as_i64(), n.as_u64()) {
                    (Some(i), _) => i.to_string(),
                    (_, Some(u)) => u.to_string(),
                    // Whole and within ±2^53: exact as an i64.
                    _ => (f as i64).to_string(),
                }
            })
        }
        _ => None,
    }
}

/// The text of a value as far as the template tells it: runs of known text, and whether a
/// value only the deployment knows (a gap) cut them anywhere.
#[derive(Default)]
pub(super) struct Text {
    pub(super) fragments: Vec<String>,
    pub(super) gapped: bool,
}

/// A piece of an `Fn::Sub` or `Fn::Join`: known text, or a gap.
enum Piece {
    Known(String),
    Gap,
}

impl Text {
    pub(super) fn of(value: &Value, parameters: &Map<String, Value>) -> Text {
        let mut text = Text::default();
        text.add(value, parameters);
        text
    }

    fn add(&mut self, value: &Value, parameters: &Map<String, Value>) {
        match (value, intrinsic(value)) {
            (Value::Null, _) => {}
            (Value::Array(items), _) => items.iter().for_each(|item| self.add(item, parameters)),
            (Value::Object(_), Some(_)) if is_no_value(value) => {}
            (Value::Object(_), Some(("Ref", Value::String(target)))) => {
                match parameters.get(target) {
                    // Once: what the parameter holds is read with no parameters.
                    Some(given) => self.add(given, &Map::new()),
                    None => self.gapped = true,
                }
            }
            (Value::Object(_), Some(("Fn::Sub", argument))) => {
                let pieces = substitution(argument, parameters);
                self.add_pieces(pieces);
            }
            (Value::Object(_), Some(("Fn::Join", argument))) => {
                let pieces = join(argument, parameters);
                self.add_pieces(pieces);
            }
            (Value::Object(_), Some(_)) => self.gapped = true,
            (Value::Object(members), None) => members
                .values()
                .for_each(|member| self.add(member, parameters)),
            (scalar, _) => self.fragments.extend(canonical(scalar)),
        }
    }

    fn add_pieces(&mut self, pieces: Vec<Piece>) {
        let mut run = String::new();
        for piece in pieces {
            match piece {
                Piece::Known(text) => run.push_str(&text),
                Piece::Gap => {
                    self.gapped = true;
                    self.fragments.push(std::mem::take(&mut run));
                }
            }
        }
        self.fragments.push(run);
        self.fragments.retain(|f| !f.is_empty());
    }
}

/// A known parameter's value, when it is a string.
fn parameter_text(name: &str, parameters: &Map<String, Value>) -> Option<String> {
    parameters
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// `Fn::Sub`'s template cut at its variables: `${!X}` is the text `${X}`; `${X}` is the
/// string its variable map gives, else a known string parameter X, else a gap.
fn substitution(argument: &Value, parameters: &Map<String, Value>) -> Vec<Piece> {
    let (template, variables) = match argument {
        Value::String(template) => (template.as_str(), None),
        Value::Array(parts) => match &parts[..] {
            [Value::String(template), Value::Object(variables)] => {
                (template.as_str(), Some(variables))
            }
            _ => return vec![Piece::Gap],
        },
        _ => return vec![Piece::Gap],
    };
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        pieces.push(Piece::Known(rest[..start].to_string()));
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            pieces.push(Piece::Known(rest[start..].to_string()));
            return pieces;
        };
        let name = &after[..end];
        rest = &after[end + 1..];
        let piece = if let Some(literal) = name.strip_prefix('!') {
            Some(format!("${{{literal}}}"))
        } else {
            match variables.and_then(|v| v.get(name)) {
                Some(given) => given.as_str().map(str::to_string),
                None => parameter_text(name, parameters),
            }
        };
        pieces.push(piece.map_or(Piece::Gap, Piece::Known));
    }
    pieces.push(Piece::Known(rest.to_string()));
    pieces
}

/// `Fn::Join`'s parts with its delimiter: strings and `Ref`s to known string parameters are
/// text, any other part a gap.
fn join(argument: &Value, parameters: &Map<String, Value>) -> Vec<Piece> {
    let Some([Value::String(delimiter), Value::Array(parts)]) =
        argument.as_array().map(Vec::as_slice)
    else {
        return vec![Piece::Gap];
    };
    let mut pieces = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            pieces.push(Piece::Known(delimiter.clone()));
        }
        let text = match (part, intrinsic(part)) {
            (Value::String(text), _) => Some(text.clone()),
            (_, Some(("Ref", Value::String(name)))) => parameter_text(name, parameters),
            _ => None,
        };
        pieces.push(text.map_or(Piece::Gap, Piece::Known));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: Value, parameters: Value) -> (Vec<String>, bool) {
        let text = Text::of(&value, parameters.as_object().unwrap());
        (text.fragments, text.gapped)
    }

    fn known(fragments: &[&str], gapped: bool) -> (Vec<String>, bool) {
        (fragments.iter().map(|f| f.to_string()).collect(), gapped)
    }

    #[test]
    fn sub_and_join_keep_the_known_text_and_mark_the_gaps() {
        let sub = json!({"Fn::Sub": "a${X}b${!Y}c${"});
        assert_eq!(text(sub, json!({"X": "x"})), known(&["axb${Y}c${"], false));
        let pseudo = json!({"Fn::Sub": "a${AWS::Region}b"});
        assert_eq!(text(pseudo, json!({})), known(&["a", "b"], true));
        let listed = json!({"Fn::Sub": ["${A}-${B}", {"A": "a", "B": {"Ref": "R"}}]});
        assert_eq!(text(listed, json!({"B": "b"})), known(&["a-"], true));
        let join =
            json!({"Fn::Join": [":", ["a", {"Ref": "P"}, {"Fn::GetAtt": ["R", "Arn"]}, "d"]]});
        assert_eq!(text(join, json!({"P": "p"})), known(&["a:p:", ":d"], true));
        let unknown_list = json!({"Fn::Join": [":", {"Ref": "List"}]});
        assert_eq!(text(unknown_list, json!({})), known(&[], true));
        let nested = json!({"A": [1, true, null, {"Ref": "AWS::NoValue"}], "B": {"Ref": "P"}});
        assert_eq!(
            text(nested, json!({"P": ["x", {"Ref": "P"}]})),
            known(&["1", "true", "x"], true)
        );
    }

    #[test]
    fn numbers_compare_as_integers_within_the_safe_range() {
        for (value, expected) in [
            (json!(2), Some("2")),
            (json!(-1), Some("-1")),
            (json!(2.0), Some("2")),
            (json!(-0.0), Some("0")),
            (json!(2.5), None),
            (json!(9_007_199_254_740_991_u64), Some("9007199254740991")),
            (json!(9_007_199_254_740_992_u64), None),
            (json!(1e300), None),
            (json!(true), Some("true")),
            (json!(["a"]), None),
        ] {
            assert_eq!(canonical(&value).as_deref(), expected, "{value}");
        }
    }
}
