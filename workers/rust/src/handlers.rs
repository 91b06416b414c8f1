//! The Rust worker's step handlers.

use serde_json::{json, Value};
use tasker_worker::{HandlerRegistry, HandlerResult};

/// Every handler this worker serves: `sum`, `reverse` and `fail`.
pub(crate) fn registry() -> HandlerRegistry {
    let mut handlers = HandlerRegistry::new();
    handlers
        .register("sum", sum)
        .register("reverse", reverse)
        .register("fail", fail);
    handlers
}

/// Adds numbers: input `[1, 2]` or `{"numbers": [1, 2]}`, output
/// `{"sum": 3}`. Integers stay integers unless the sum overflows.
pub(crate) fn sum(input: &Value) -> HandlerResult {
    let numbers = match input {
        Value::Array(items) => items,
        Value::Object(map) => map
            .get("numbers")
            .and_then(Value::as_array)
            .ok_or("sum: expected {\"numbers\": [...]} or an array of numbers")?,
        _ => return Err("sum: expected {\"numbers\": [...]} or an array of numbers".into()),
    };
    let mut int_total: Option<i64> = Some(0);
    let mut float_total = 0.0;
    for (i, n) in numbers.iter().enumerate() {
        let f = n
            .as_f64()
            .ok_or_else(|| format!("sum: element {i} is not a number: {n}"))?;
        float_total += f;
        int_total = match (int_total, n.as_i64()) {
            (Some(total), Some(v)) => total.checked_add(v),
            _ => None,
        };
    }
    Ok(match int_total {
        Some(total) => json!({ "sum": total }),
        None => json!({ "sum": float_total }),
    })
}

/// Reverses a string (by characters): input `"abc"` or `{"text": "abc"}`,
/// output `{"reversed": "cba"}`.
pub(crate) fn reverse(input: &Value) -> HandlerResult {
    let text = match input {
        Value::String(s) => s.as_str(),
        Value::Object(map) => map
            .get("text")
            .and_then(Value::as_str)
            .ok_or("reverse: expected {\"text\": \"...\"} or a string")?,
        _ => return Err("reverse: expected {\"text\": \"...\"} or a string".into()),
    };
    Ok(json!({ "reversed": text.chars().rev().collect::<String>() }))
}

/// Always fails, with `{"message": "..."}` as the error if given.
pub(crate) fn fail(input: &Value) -> HandlerResult {
    Err(input
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("fail: this handler always fails")
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums() {
        assert_eq!(sum(&json!([1, 2, 3])), Ok(json!({"sum": 6})));
        assert_eq!(sum(&json!({"numbers": [1, 2.5]})), Ok(json!({"sum": 3.5})));
        assert_eq!(sum(&json!({"numbers": []})), Ok(json!({"sum": 0})));
        assert_eq!(sum(&json!([-4, 4])), Ok(json!({"sum": 0})));
        assert_eq!(
            sum(&json!([i64::MAX, 1])),
            Ok(json!({"sum": i64::MAX as f64 + 1.0}))
        );
        assert!(sum(&json!([1, "2"])).unwrap_err().contains("element 1"));
        assert!(sum(&json!({"nums": [1]})).is_err());
        assert!(sum(&json!(5)).is_err());
    }

    #[test]
    fn reverses() {
        assert_eq!(reverse(&json!("abc")), Ok(json!({"reversed": "cba"})));
        assert_eq!(
            reverse(&json!({"text": "héllo"})),
            Ok(json!({"reversed": "olléh"}))
        );
        assert_eq!(reverse(&json!("")), Ok(json!({"reversed": ""})));
        assert!(reverse(&json!({"text": 1})).is_err());
        assert!(reverse(&json!(null)).is_err());
    }

    #[test]
    fn fails() {
        assert_eq!(fail(&json!({"message": "nope"})), Err("nope".to_string()));
        assert!(fail(&json!(null)).unwrap_err().contains("always fails"));
    }

    #[test]
    fn registry_has_every_handler() {
        let r = registry();
        assert_eq!(r.names(), ["fail", "reverse", "sum"]);
        assert_eq!(r.call("sum", &json!([2, 2])), Ok(json!({"sum": 4})));
    }
}
