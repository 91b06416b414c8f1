//! A worker's own share of a step, without the database: decode the claimed
//! message, look the handler up and run it (behind `catch_unwind`), and
//! encode the outcome it reports. `mage rust:bench` runs these.

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Duration;
use tasker_shared::messages::{StepMessage, StepResult};
use tasker_worker::{HandlerRegistry, HandlerResult};

/// The sum handler every worker serves, written for this benchmark (the
/// Rust worker's own is private to its binary).
fn sum(input: &Value) -> HandlerResult {
    let numbers = input
        .get("numbers")
        .and_then(Value::as_array)
        .ok_or("expected {\"numbers\": [...]}")?;
    let mut total = 0i64;
    for n in numbers {
        total += n.as_i64().ok_or("not an integer")?;
    }
    Ok(json!({ "sum": total }))
}

fn registry() -> HandlerRegistry {
    let mut handlers = HandlerRegistry::new();
    handlers
        .register("sum", sum)
        .register("echo", |v| Ok(v.clone()))
        .register("fail", |_| Err("no".into()));
    handlers
}

/// One step through the worker: the path `Worker::process` takes between
/// claiming and finishing.
fn run_step(handlers: &HandlerRegistry, text: &str) -> String {
    let msg: StepMessage = serde_json::from_str(text).unwrap();
    let outcome = match handlers.call(&msg.handler, &msg.input) {
        Ok(v) => StepResult::complete(msg.step_id, msg.task_id, v),
        Err(e) => StepResult::error(msg.step_id, msg.task_id, e),
    };
    serde_json::to_string(&outcome).unwrap()
}

fn dispatch(c: &mut Criterion) {
    let handlers = registry();
    let mut g = c.benchmark_group("dispatch");
    g.bench_function("call_sum", |b| {
        let input = json!({"numbers": [1, 2, 39]});
        b.iter(|| handlers.call(black_box("sum"), black_box(&input)).unwrap())
    });
    g.bench_function("call_unknown", |b| {
        b.iter(|| {
            handlers
                .call(black_box("missing"), &Value::Null)
                .unwrap_err()
        })
    });
    let text = serde_json::to_string(&StepMessage {
        step_id: 2,
        task_id: 1,
        namespace: "rust".into(),
        handler: "sum".into(),
        input: json!({"numbers": [1, 2, 39]}),
    })
    .unwrap();
    g.bench_function("step", |b| b.iter(|| run_step(&handlers, black_box(&text))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = dispatch
}
criterion_main!(benches);
