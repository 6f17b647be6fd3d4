//! A template value that is a CloudFormation intrinsic function: what both the conditions and
//! their text read a value as before looking further.

use serde_json::Value;

/// `{"Ref": ..}` or `{"Fn::X": ..}`: the function's name and argument.
pub fn intrinsic(value: &Value) -> Option<(&str, &Value)> {
    let object = value.as_object().filter(|o| o.len() == 1)?;
    let (key, argument) = object.iter().next()?;
    (key == "Ref" || key.starts_with("Fn::")).then_some((key.as_str(), argument))
}

/// `{"Ref": "AWS::NoValue"}`: the property is left out.
pub(super) fn is_no_value(value: &Value) -> bool {
    matches!(intrinsic(value), Some(("Ref", Value::String(target))) if target == "AWS::NoValue")
}
