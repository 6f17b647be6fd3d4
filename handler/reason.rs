//! Text for Reasons. A Reason is shown in the CloudFormation console, names what the user gave,
//! and must fit in an answer of 4096 bytes, so values are quoted and cut here, in one way.

use serde_json::Value;

/// A user-supplied value quoted for a Reason, cut to a readable length.
pub(crate) fn quoted(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    if value.chars().count() <= MAX_CHARS {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX_CHARS).collect();
        format!("{head:?}… ({} characters)", value.chars().count())
    }
}

/// What kind of JSON value was given where another was expected ("a list", "null").
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `text` cut to at most `max` bytes on a character boundary, marked with "…" when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let Some(mut end) = max.checked_sub("…".len()) else {
        return String::new();
    };
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_cut_to_a_readable_length() {
        assert_eq!(quoted("ecs"), "\"ecs\"");
        let long = "é".repeat(5000);
        let q = quoted(&long);
        assert!(q.ends_with("… (5000 characters)"), "{q}");
        assert!(q.len() < 200);
    }

    #[test]
    fn cut_respects_character_boundaries() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcdef", 5), "ab…");
        assert_eq!(cut("ééé", 6), "ééé");
        assert_eq!(cut("ééé", 5), "é…");
        assert_eq!(cut("abcdef", 2), "");
    }
}
