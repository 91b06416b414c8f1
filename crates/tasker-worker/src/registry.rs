//! Named step handlers.

use serde_json::Value;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a handler returns: the step result, or an error message.
pub type HandlerResult = Result<Value, String>;

type BoxedHandler = Box<dyn Fn(&Value) -> HandlerResult + Send + Sync>;

/// Handlers by name. Shareable between threads.
#[derive(Default)]
pub struct HandlerRegistry {
    handlers: BTreeMap<String, BoxedHandler>,
}

impl HandlerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        HandlerRegistry::default()
    }

    /// Registers (or replaces) the handler called `name`.
    pub fn register<F>(&mut self, name: &str, handler: F) -> &mut Self
    where
        F: Fn(&Value) -> HandlerResult + Send + Sync + 'static,
    {
        self.handlers.insert(name.to_string(), Box::new(handler));
        self
    }

    /// True if `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.handlers.contains_key(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.handlers.keys().map(String::as_str).collect()
    }

    /// Runs the handler called `name`. An unknown name or a panic becomes
    /// an error message.
    pub fn call(&self, name: &str, input: &Value) -> HandlerResult {
        let Some(handler) = self.handlers.get(name) else {
            return Err(format!(
                "no handler registered for {name:?} (known: {})",
                self.names().join(", ")
            ));
        };
        match catch_unwind(AssertUnwindSafe(|| handler(input))) {
            Ok(result) => result,
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Err(format!("handler {name:?} panicked: {detail}"))
            }
        }
    }
}

impl std::fmt::Debug for HandlerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerRegistry")
            .field("handlers", &self.names())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn register_and_call() {
        let mut r = HandlerRegistry::new();
        r.register("echo", |v| Ok(v.clone()))
            .register("fail", |_| Err("nope".into()));
        assert_eq!(r.names(), ["echo", "fail"]);
        assert!(r.contains("echo") && !r.contains("other"));
        assert_eq!(r.call("echo", &json!({"a": 1})), Ok(json!({"a": 1})));
        assert_eq!(r.call("fail", &json!(null)), Err("nope".to_string()));
        let unknown = r.call("other", &json!(null)).unwrap_err();
        assert!(
            unknown.contains("no handler registered for \"other\""),
            "{unknown}"
        );
        assert!(format!("{r:?}").contains("echo"));
    }

    #[test]
    fn panics_become_errors() {
        let mut r = HandlerRegistry::new();
        r.register("static", |_| panic!("static message"));
        r.register("formatted", |v| panic!("bad input {v}"));
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let a = r.call("static", &json!(1));
        let b = r.call("formatted", &json!(2));
        std::panic::set_hook(prev);
        assert_eq!(a, Err("handler \"static\" panicked: static message".into()));
        assert_eq!(b, Err("handler \"formatted\" panicked: bad input 2".into()));
    }
}
